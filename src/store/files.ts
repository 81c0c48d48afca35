import fs from 'node:fs';
import path from 'node:path';

export const DB_FILE = 'state.db';
const SIDE_FILES = ['-wal', '-shm', '-journal'];

/** Creates dataDir 0700 if missing. An existing directory is not ours to re-mode. */
export function ensureDataDir(dataDir: string): void {
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
