import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isFleetError } from '../../errors.js';
import { readRootFile, readSmallFile } from '../../runner/root-file.js';

/** What we remember about a started runner, so a later daemon can adopt it safely. */
export interface PidRecord {
  name: string;
  pool: string;
  host: string;
  pid: number;
  /** /proc/{pid}/stat field 22 at start; a pid whose start time differs is not ours. */
  startTime: string;
  /** argv of the supervised process (the shim), compared with /proc/{pid}/cmdline. */
  cmdline: string[];
  /** epoch ms */
  startedAt: number;
  root: string;
  logFile: string;
  /** Where the shim writes the runner's exit code. */
  exitFile: string;
}

export function pidDir(dataDir: string): string {
  return path.join(dataDir, 'process');
}

export function pidFilePath(dataDir: string, name: string): string {
  return path.join(pidDir(dataDir), `${name}.json`);
}

/** Atomic (tmp + rename), 0600: the file is small but says which pid we may signal. */
export async function writePidRecord(dataDir: string, rec: PidRecord): Promise<void> {
  const file = pidFilePath(dataDir, rec.name);
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(rec, null, 2) + '\n', { mode: 0o600 });
  await fs.rename(tmp, file);
}

export async function readPidRecord(dataDir: string, name: string): Promise<PidRecord | undefined> {
  return parseRecord(await readOrUndefined(pidFilePath(dataDir, name)));
}

export async function listPidRecords(dataDir: string): Promise<PidRecord[]> {
  let entries: string[];
  try {
    entries = await fs.readdir(pidDir(dataDir));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: PidRecord[] = [];
  for (const e of entries.filter((f) => f.endsWith('.json')).sort()) {
    const rec = parseRecord(await readOrUndefined(path.join(pidDir(dataDir), e)));
    // A record must live under its own name, or destroy(name) could never find it.
    if (rec && `${rec.name}.json` === e) out.push(rec);
  }
  return out;
}

export async function removePidRecord(dataDir: string, rec: Pick<PidRecord, 'name' | 'exitFile'> & { root?: string }): Promise<void> {
  await fs.rm(pidFilePath(dataDir, rec.name), { force: true });
  // One in the runner root goes with the root; removing it by path would follow a `.rf` the job
  // turned into a link out of the root (CONTRACT §6).
  if (!rec.root || !within(rec.root, rec.exitFile)) await fs.rm(rec.exitFile, { force: true });
}

function within(dir: string, file: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/**
 * The shim writes `<code>\n`. A code above 128 is how a shell reports "killed by signal
 * code-128"; the Listener's own codes are 0..7, so the ambiguity does not bite in practice.
 */
export async function readExitFile(file: string, root?: string): Promise<{ exitCode: number | null; signal: string | null } | undefined> {
  // In the runner root (runners of another user) it is the job's to write: read it like one.
  const raw = root && within(root, file) ? await readRootFile(root, path.relative(root, file), 64) : await readOrUndefined(file);
  if (raw === undefined) return undefined;
  const code = Number.parseInt(raw.trim(), 10);
  if (!Number.isInteger(code)) return undefined;
  if (code > 128 && code < 128 + 65) return { exitCode: null, signal: signalName(code - 128) };
  return { exitCode: code, signal: null };
}

function signalName(n: number): string {
  const hit = Object.entries(os.constants.signals).find(([, v]) => v === n);
  return hit ? hit[0] : `SIG${n}`;
}

/**
 * Pid and exit files are tiny; a job running as the daemon's user could still put a FIFO or a
 * link to /dev/zero in their place: never followed, never blocking, capped (a bad one reads as
 * absent: nothing we may signal).
 */
async function readOrUndefined(file: string): Promise<string | undefined> {
  try {
    return await readSmallFile(file, 64 * 1024);
  } catch (err) {
    if (isFleetError(err, 'RUNNER_FILE_REFUSED')) return undefined;
    throw err;
  }
}

function parseRecord(raw: string | undefined): PidRecord | undefined {
  if (raw === undefined) return undefined;
  try {
    const r = JSON.parse(raw) as PidRecord;
    if (typeof r.name !== 'string' || !Number.isInteger(r.pid) || r.pid <= 1 || !Array.isArray(r.cmdline)) return undefined;
    return r;
  } catch {
    // a torn or hand-edited file: not something we may signal
    return undefined;
  }
}
