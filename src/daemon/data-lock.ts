import fs from 'node:fs';
import path from 'node:path';
import { FleetError } from '../errors.js';

export const LOCK_FILE = 'daemon.lock';

export interface DataDirLock {
  release(): void;
}

/** The kernel's start time of a process (field 22 of /proc/PID/stat): tells a reused pid apart. */
function startTime(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function holder(file: string): { pid: number; start: string | null } | null {
  try {
    const [pid, start] = fs.readFileSync(file, 'utf8').trim().split(/\s+/);
    const n = Number(pid);
    return Number.isInteger(n) && n > 0 ? { pid: n, start: start ?? null } : null;
  } catch {
    return null;
  }
}

/** A lock file is live while its process runs and is the same process (not a reused pid). */
function alive(h: { pid: number; start: string | null }): boolean {
  try {
    process.kill(h.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const now = startTime(h.pid);
  return h.start === null || now === null || now === h.start;
}

/**
 * One daemon per data dir: two would fight over the database and the runners ("database is
 * locked", runner churn). `{dataDir}/daemon.lock` holds the holder's pid and start time; one
 * left by a dead daemon (crash, reboot) is taken over.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const file = path.join(dataDir, LOCK_FILE);
  const me = `${process.pid} ${startTime(process.pid) ?? ''}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx', 0o600);
      fs.writeSync(fd, me);
      fs.closeSync(fd);
      return { release: () => release(file) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new FleetError('STORE_FAILED', `cannot create ${file}`, { cause: err });
    }
    const h = holder(file);
    if (h && h.pid !== process.pid && alive(h)) {
      throw new FleetError('DATA_DIR_LOCKED', `another runner-fleet daemon (pid ${h.pid}) uses ${dataDir} (${file}); stop it first, or give this one its own host.dataDir`);
    }
    // Stale (its daemon is gone) or half-written by one that died at once: take it over.
    const age = Date.now() - (fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0);
    if (!h && age < 2000) continue;
    fs.rmSync(file, { force: true });
  }
  throw new FleetError('DATA_DIR_LOCKED', `cannot take ${file}: it keeps changing (another daemon starting?)`);
}

function release(file: string): void {
  const h = holder(file);
  if (h?.pid === process.pid) fs.rmSync(file, { force: true });
}
