import { constants as fsc, promises as fs, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { FleetError } from '../errors.js';

/** Job hook state, `.runner`, exit codes: all tiny. Anything bigger is not what we wrote. */
export const ROOT_FILE_MAX = 64 * 1024;

// O_NONBLOCK: opening a FIFO nobody writes returns at once instead of parking a libuv thread
// forever (four of those and every fs call of the daemon waits). O_NOFOLLOW: a symlink in the
// last component fails with ELOOP, so `job -> /dev/zero` or `-> /etc/shadow` is never opened.
const FLAGS = fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK | fsc.O_NOCTTY;

/**
 * Reads a file a job can write (CONTRACT §6: without blocking or following links): undefined
 * when it does not exist, its text when it is a small regular file exactly where it should be,
 * else FleetError RUNNER_FILE_REFUSED. Asynchronous: the event loop never waits on it.
 *
 * O_NOFOLLOW covers only the last component, so the opened file's real path is compared with
 * where it must be: a job that swaps `.rf` for a link to `/` or to a directory it prepared
 * (a FIFO named `job` there) is refused the same way.
 */
export async function readRootFile(root: string, rel: string, max = ROOT_FILE_MAX): Promise<string | undefined> {
  return (await readRootFileStat(root, rel, max))?.text;
}

/** readRootFile, with the fstat of the very file read (what RootFileCache compares). */
export async function readRootFileStat(root: string, rel: string, max = ROOT_FILE_MAX): Promise<Read | undefined> {
  // The hooks replace their file (tmp + mv): one caught mid-replace is read again.
  for (let attempt = 1; ; attempt++) {
    const r = await readOnce(root, rel, max);
    if (r !== REPLACED) return r;
    if (attempt === 3) throw refused(path.join(root, rel), 'keeps being replaced while read');
  }
}

export interface Read {
  text: string;
  stat: BigIntStats;
}

const REPLACED = Symbol('replaced');

/**
 * The same rules for a file with no root to check against (pid files: job-writable only when
 * jobs run as the daemon's user, and then still never allowed to block it).
 */
export async function readSmallFile(file: string, max = ROOT_FILE_MAX): Promise<string | undefined> {
  const fh = await openNoFollow(file);
  if (!fh) return undefined;
  try {
    return (await readCapped(fh, file, max)).text;
  } finally {
    await fh.close().catch(() => undefined);
  }
}

async function openNoFollow(file: string): Promise<fs.FileHandle | undefined> {
  try {
    return await fs.open(file, FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw refused(file, code === 'ELOOP' ? 'is a symbolic link' : `cannot be opened (${code ?? 'error'})`, err);
  }
}

async function readOnce(root: string, rel: string, max: number): Promise<Read | undefined | typeof REPLACED> {
  const file = path.join(root, rel);
  const fh = await openNoFollow(file);
  if (!fh) return undefined;
  try {
    const real = await fs.readlink(`/proc/self/fd/${fh.fd}`).catch(() => null);
    const expected = path.join(await fs.realpath(root), rel);
    if (real === `${expected} (deleted)`) return REPLACED;
    if (real !== expected) throw refused(file, `resolves to ${real ?? 'an unknown place'}, outside its runner root`);
    return await readCapped(fh, file, max);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

async function readCapped(fh: fs.FileHandle, file: string, max: number): Promise<Read> {
  const st = await fh.stat({ bigint: true });
  if (!st.isFile()) throw refused(file, 'is not a regular file');
  if (st.size > BigInt(max)) throw refused(file, `is ${st.size} bytes (at most ${max} accepted)`);
  // The size may grow after fstat: never read more than the cap.
  const buf = Buffer.alloc(max + 1);
  let n = 0;
  while (n < buf.length) {
    const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
    if (bytesRead === 0) break;
    n += bytesRead;
  }
  if (n > max) throw refused(file, `grew beyond ${max} bytes while read`);
  return { text: buf.subarray(0, n).toString('utf8'), stat: st };
}

function refused(file: string, why: string, cause?: unknown): FleetError {
  return new FleetError('RUNNER_FILE_REFUSED', `${file} ${why}`, cause === undefined ? undefined : { cause });
}
