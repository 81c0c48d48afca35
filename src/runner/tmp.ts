import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Staging names carry the writer's pid, so a sweep at start removes what a crashed process left
 * (a half-extracted runner, a half-installed tool) and never what a live one (a concurrent
 * `runner-fleet tools install`) is writing.
 */
export function tmpName(tag: string): string {
  return `.tmp-${process.pid}-${tag}-${crypto.randomBytes(4).toString('hex')}`;
}

/** Files written as `{file}.{pid}.tmp` then renamed. */
export function tmpFile(file: string): string {
  return `${file}.${process.pid}.tmp`;
}

const OLD_MS = 3_600_000;

/** Removes leftover staging entries under the data dir's caches; returns what went. */
export function sweepTemps(dataDir: string, now = Date.now()): string[] {
  const dirs = [path.join(dataDir, 'cache', 'runner'), path.join(dataDir, 'cache', 'ca'), ...toolVersionDirs(dataDir)];
  const removed: string[] = [];
  for (const dir of dirs) {
    for (const e of safeReaddir(dir)) {
      const p = path.join(dir, e);
      if (!isLeftover(e, p, now)) continue;
      fs.rmSync(p, { recursive: true, force: true });
      removed.push(p);
    }
  }
  return removed;
}

function isLeftover(entry: string, p: string, now: number): boolean {
  const pid = /^\.tmp-(\d+)-/.exec(entry)?.[1] ?? /\.(\d+)\.tmp$/.exec(entry)?.[1];
  if (pid !== undefined) return !alive(Number(pid));
  // Older releases named staging dirs without a pid: only an old one is surely abandoned.
  if (!entry.startsWith('.tmp-')) return false;
  const st = fs.lstatSync(p, { throwIfNoEntry: false });
  return st !== undefined && now - st.mtimeMs > OLD_MS;
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function toolVersionDirs(dataDir: string): string[] {
  const tools = path.join(dataDir, 'tools');
  return safeReaddir(tools)
    .filter((n) => !n.startsWith('.'))
    .flatMap((n) => safeReaddir(path.join(tools, n)).map((v) => path.join(tools, n, v)));
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Removes a staging dir after a failure without masking that failure: node-tar rejects on the
 * first failed write while other entries are still being written, so removal is retried
 * (ENOTEMPTY) and a leftover is the start-up sweep's.
 */
export async function removeStaging(p: string): Promise<void> {
  await fs.promises.rm(p, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 }).catch(() => undefined);
}
