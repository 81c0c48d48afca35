import fs from 'node:fs';
import path from 'node:path';
import { DB_FILE } from '../store/index.js';

/** Per-runner directories belong to the runners (and their job users): never walked here. */
const NOT_OURS = new Set(['runners']);

/**
 * Runs a one-shot command that writes into the data dir (runner download, tools install) so that
 * it leaves nothing behind when it fails, and, run as root in a data dir the service user owns,
 * what it created is the service user's (a root-owned state.db would lock the daemon out).
 */
export async function withDataDir<T>(dataDir: string, fn: () => Promise<T>): Promise<T> {
  const dirExisted = fs.existsSync(dataDir);
  const dbExisted = fs.existsSync(path.join(dataDir, DB_FILE));
  const before = dirExisted ? listTree(dataDir) : new Set<string>();
  try {
    const out = await fn();
    adoptOwnership(dataDir, before);
    return out;
  } catch (err) {
    if (!dirExisted) fs.rmSync(dataDir, { recursive: true, force: true });
    // Only a database we created: with an existing one a daemon may be using its -wal.
    else if (!dbExisted) for (const s of ['', '-wal', '-shm', '-journal']) fs.rmSync(path.join(dataDir, DB_FILE + s), { force: true });
    if (dirExisted) adoptOwnership(dataDir, before);
    throw err;
  }
}

function listTree(root: string): Set<string> {
  const out = new Set<string>();
  const walk = (dir: string, top: boolean) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (top && NOT_OURS.has(e.name)) continue;
      const p = path.join(dir, e.name);
      out.add(p);
      if (e.isDirectory()) walk(p, false);
    }
  };
  walk(root, true);
  return out;
}

/** Root creating files in a data dir owned by someone else hands them to that owner. */
function adoptOwnership(dataDir: string, before: Set<string>): void {
  if (process.getuid?.() !== 0) return;
  const st = fs.statSync(dataDir, { throwIfNoEntry: false });
  if (!st || st.uid === 0) return;
  for (const p of listTree(dataDir)) {
    if (before.has(p)) continue;
    try {
      fs.lchownSync(p, st.uid, st.gid);
    } catch {
      // vanished meanwhile
    }
  }
}
