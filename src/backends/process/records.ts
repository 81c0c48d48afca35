import { promises as fs } from 'node:fs';
import { pidDir, readPidRecord, type PidRecord } from './pidfile.js';

type Lock = <T>(name: string, fn: () => Promise<T>) => Promise<T>;

/**
 * The pid records of the data dir, kept in memory. The daemon writes and removes the files
 * itself, so after the first read (the runners a previous daemon started) a file is read only
 * when its name appears behind the daemon's back (a crash-interrupted start recovered, another
 * host sharing the data dir). Each sync() still reads the directory, so a record file removed
 * by someone else drops out of list() as before; what a pass no longer does is open, fstat,
 * read and close every file (100 runners: 400 threadpool calls every reconcile pass).
 *
 * A file whose content is replaced under a name already known keeps the record the daemon
 * wrote or first read: it is the one that says which pid the daemon may signal.
 */
export class PidRecords {
  readonly #recs = new Map<string, PidRecord>();

  constructor(
    private readonly dataDir: string,
    /** The backend's per-name lock: a read never races that name's create or destroy. */
    private readonly serialized: Lock,
  ) {}

  /** After the daemon wrote the file itself. */
  set(rec: PidRecord): void {
    this.#recs.set(rec.name, rec);
  }

  /** After the daemon removed the file itself. */
  delete(name: string): void {
    this.#recs.delete(name);
  }

  get(name: string): PidRecord | undefined {
    return this.#recs.get(name);
  }

  /** Every known record (any host), by name. */
  values(): PidRecord[] {
    return [...this.#recs.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Brings memory in line with the directory's names; returns the directory's entries (the
   * caller looks for start markers there, without a second readdir).
   */
  async sync(): Promise<string[]> {
    let entries: string[];
    try {
      entries = await fs.readdir(pidDir(this.dataDir));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      entries = [];
    }
    const names = new Set(entries.filter((e) => e.endsWith('.json')).map((e) => e.slice(0, -'.json'.length)));
    const known = new Map(this.#recs);
    for (const name of names) if (!known.has(name)) await this.#reread(name, undefined);
    for (const [name, rec] of known) if (!names.has(name)) await this.#reread(name, rec);
    return entries;
  }

  /**
   * Under the name's lock, and only if nothing of ours changed the name meanwhile (`seen`: what
   * memory held when the directory was read). A file that does not parse stays out and is
   * read again next time (nothing we may signal; a torn write by someone else settles).
   */
  async #reread(name: string, seen: PidRecord | undefined): Promise<void> {
    await this.serialized(name, async () => {
      if (this.#recs.get(name) !== seen) return;
      const rec = await readPidRecord(this.dataDir, name);
      // A record must live under its own name, or destroy(name) could never find it.
      if (rec && rec.name === name) this.#recs.set(name, rec);
      else this.#recs.delete(name);
    });
  }
}
