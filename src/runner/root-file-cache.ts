import { promises as fs, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { readRootFileStat, ROOT_FILE_MAX } from './root-file.js';

/**
 * The job hook files are read on every reconcile pass but change only when a job starts or
 * ends. This reads one again only when an `lstat` of it differs from the fstat of the last
 * read (type and mode, device, inode, size, mtime, ctime); otherwise the text read then is the
 * answer. A file found absent (no job yet: most idle runners) is looked for again only when
 * its directory's lstat changed, as any entry made in it changes it: a failed open costs an
 * exception, a successful lstat does not.
 *
 * Why that is safe with a file the job owns: `lstat` follows no final link and cannot block
 * on a FIFO; ctime is set by the kernel on every change (a job can set mtime, never ctime);
 * the hooks replace the file (new inode). Every actual read is readRootFile's, with its
 * checks. What a job can do without changing the file's stat (rename `.rf` away and link the
 * old name to it) leaves the very text already read and accepted: the refusal comes with the
 * file's next change instead.
 *
 * Timestamps have a granularity (a kernel tick; seconds on some file systems): a file changed
 * twice within one tick keeps its ctime. So a read is trusted for the next time only once the
 * file's ctime is `settleMs` older than the read (git's "racy clean" rule); until then it is
 * read again each time.
 */
export class RootFileCache {
  /** `text` undefined: the file was absent, and `stat` is its directory's. */
  readonly #entries = new Map<string, { stat: BigIntStats; text: string | undefined; settled: boolean }>();
  /** Reads served from memory, and actual reads: for tests and debugging. */
  readonly counts = { hits: 0, reads: 0 };

  constructor(private readonly o: { now?: () => number; settleMs?: number } = {}) {}

  /** As readRootFile(root, rel, max). */
  async read(root: string, rel: string, max = ROOT_FILE_MAX): Promise<string | undefined> {
    const file = path.join(root, rel);
    const last = this.#entries.get(file);
    if (last?.settled) {
      const now = await lstat(last.text === undefined ? path.dirname(file) : file);
      if (now && same(now, last.stat)) {
        this.counts.hits++;
        return last.text;
      }
    }
    this.#entries.delete(file);
    this.counts.reads++;
    // Real time: it is compared with the kernel's timestamps, not used to schedule anything.
    const at = this.o.now?.() ?? Date.now();
    // Before the read: a file that appears after it changes the directory's times past these.
    const dir = await lstat(path.dirname(file));
    const r = await readRootFileStat(root, rel, max);
    const settled = (st: BigIntStats) => Number(st.ctimeMs) < at - (this.o.settleMs ?? 2000);
    if (r) this.#entries.set(file, { stat: r.stat, text: r.text, settled: settled(r.stat) });
    else if (dir?.isDirectory()) this.#entries.set(file, { stat: dir, text: undefined, settled: settled(dir) });
    return r?.text;
  }

  /** Forgets every file but these (runners that are gone): the cache never grows past the fleet. */
  retain(files: Iterable<string>): void {
    const keep = new Set(files);
    for (const f of this.#entries.keys()) if (!keep.has(f)) this.#entries.delete(f);
  }

  get size(): number {
    return this.#entries.size;
  }
}

function lstat(file: string): Promise<BigIntStats | undefined> {
  return fs.lstat(file, { bigint: true }).catch(() => undefined);
}

function same(a: BigIntStats, b: BigIntStats): boolean {
  return a.mode === b.mode && a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}
