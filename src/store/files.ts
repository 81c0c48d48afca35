import fs from 'node:fs';
import path from 'node:path';
import { FleetError } from '../errors.js';

export const DB_FILE = 'state.db';
const SIDE_FILES = ['-wal', '-shm', '-journal'];

/**
 * Directories no data dir may be: the daemon chmods its data dir (0700/0711) and writes into it,
 * which would lock every other user out of /etc or /home. Their subdirectories are fine.
 */
const SYSTEM_DIRS = new Set([
  '/', '/bin', '/boot', '/dev', '/etc', '/home', '/lib', '/lib32', '/lib64', '/media', '/mnt', '/opt', '/proc',
  '/root', '/run', '/sbin', '/srv', '/sys', '/tmp', '/usr', '/usr/bin', '/usr/lib', '/usr/local', '/usr/sbin',
  '/usr/share', '/var', '/var/cache', '/var/lib', '/var/log', '/var/run', '/var/tmp',
]);

/**
 * Refuses a data dir the daemon must not take over (DATA_DIR_UNSAFE): a system directory, a
 * symlink (whose target it would chmod), something that is not a directory, or a directory
 * owned by another user. A missing one is fine: the daemon creates it.
 */
export function checkDataDirSafe(dataDir: string): void {
  const abs = path.resolve(dataDir);
  const refuse = (why: string) => unsafe(dataDir, why);
  refuseSystemDir(dataDir);
  const st = fs.lstatSync(abs, { throwIfNoEntry: false });
  if (!st) return;
  if (st.isSymbolicLink()) refuse('is a symlink');
  if (!st.isDirectory()) refuse('is not a directory');
  if (SYSTEM_DIRS.has(fs.realpathSync(abs))) refuse('resolves to a system directory');
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) refuse(`is owned by uid ${st.uid}, not by the daemon's user (uid ${uid})`);
}

function unsafe(dataDir: string, why: string): never {
  throw new FleetError('DATA_DIR_UNSAFE', `host.dataDir ${dataDir}: ${why}; point it at a directory of its own (e.g. /var/lib/runner-fleet)`);
}

/** /etc, /var/lib, / ...: never a data dir (config validation and every writer check it). */
export function isSystemDir(dir: string): boolean {
  return SYSTEM_DIRS.has(path.resolve(dir));
}

function refuseSystemDir(dataDir: string): void {
  if (isSystemDir(dataDir)) unsafe(dataDir, 'is a system directory');
}

/**
 * Creates dataDir 0700 if missing. An existing directory is not ours to re-mode. (Every writer
 * refuses a system directory; the daemon checks the rest once at start, before its chmod.)
 */
export function ensureDataDir(dataDir: string): void {
  refuseSystemDir(dataDir);
  if (fs.existsSync(dataDir)) return;
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dataDir, 0o700); // mkdir's mode is filtered by umask; be exact
}

/**
 * Creates the database file 0600 before SQLite opens it, so it is never briefly readable by
 * others. SQLite creates -wal/-shm with the database file's mode, and we chmod them anyway.
 */
export function precreateDbFile(dbPath: string): void {
  const fd = fs.openSync(dbPath, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  fs.closeSync(fd);
}

export function tightenDbFiles(dbPath: string): void {
  for (const p of [dbPath, ...SIDE_FILES.map((s) => dbPath + s)]) {
    try {
      fs.chmodSync(p, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

export interface DataDirCheck {
  path: string;
  exists: boolean;
  /** Permission bits, e.g. 0o700. */
  mode: number | null;
  /** Owned by the uid running us. */
  ownedByUs: boolean;
  /** Group/other can read, write or enter it (or the database files). */
  problems: string[];
  ok: boolean;
}

/** For `doctor`: the data dir is 0700 or at least not open to group/other, state.db 0600. */
export function checkDataDir(dataDir: string): DataDirCheck {
  const res: DataDirCheck = { path: dataDir, exists: false, mode: null, ownedByUs: false, problems: [], ok: false };
  let st: fs.Stats;
  try {
    st = fs.statSync(dataDir);
  } catch {
    res.problems.push(`${dataDir} does not exist`);
    return res;
  }
  res.exists = true;
  res.mode = st.mode & 0o777;
  res.ownedByUs = typeof process.getuid !== 'function' || st.uid === process.getuid();
  if (!st.isDirectory()) res.problems.push(`${dataDir} is not a directory`);
  if (res.mode & 0o077) res.problems.push(`${dataDir} has mode ${octal(res.mode)}; want 0700`);
  if (!res.ownedByUs) res.problems.push(`${dataDir} is owned by uid ${st.uid}, not the service user`);
  const db = path.join(dataDir, DB_FILE);
  for (const p of [db, ...SIDE_FILES.map((s) => db + s)]) {
    try {
      const m = fs.statSync(p).mode & 0o777;
      if (m & 0o077) res.problems.push(`${p} has mode ${octal(m)}; want 0600`);
    } catch {
      // absent side files are normal
    }
  }
  res.ok = res.problems.length === 0;
  return res;
}

function octal(mode: number): string {
  return '0' + mode.toString(8).padStart(3, '0');
}
