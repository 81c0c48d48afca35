import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface LogArchive {
  /** Keep `text` as the last output of `name` (a runner about to be removed). */
  save(name: string, text: string): Promise<void>;
  /** The kept output, or undefined when none is kept. */
  read(name: string): Promise<string | undefined>;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * The last output of the last `keep` runners that ended, one 0600 file each under
 * {dataDir}/logs/, each capped at `maxBytes` (its tail), so `runner-fleet logs` still answers
 * for a runner that is gone while the directory stays bounded (keep × maxBytes).
 */
export function createLogArchive(opts: { dataDir: string; keep?: number; maxBytes?: number }): LogArchive {
  const dir = path.join(opts.dataDir, 'logs');
  const keep = opts.keep ?? 50;
  const maxBytes = opts.maxBytes ?? 256 * 1024;
  const file = (name: string) => {
    if (!NAME_RE.test(name)) throw new Error(`invalid runner name "${name}"`);
    return path.join(dir, `${name}.log`);
  };

  /** Oldest first beyond `keep`; the file just written always stays. */
  async function prune(justSaved: string): Promise<void> {
    const names = (await fs.readdir(dir)).filter((n) => n.endsWith('.log') && n !== justSaved);
    if (names.length < keep) return;
    const stats = await Promise.all(names.map(async (n) => ({ n, t: (await fs.stat(path.join(dir, n)).catch(() => undefined))?.mtimeMs ?? 0 })));
    stats.sort((a, b) => b.t - a.t);
    await Promise.all(stats.slice(keep - 1).map((s) => fs.rm(path.join(dir, s.n), { force: true })));
  }

  return {
    async save(name, text) {
      const buf = Buffer.from(text, 'utf8');
      const tail = buf.length > maxBytes ? buf.subarray(buf.length - maxBytes) : buf;
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      const f = file(name);
      const tmp = `${f}.tmp`;
      // Job output may carry whatever a job printed: only the daemon's user reads it.
      await fs.writeFile(tmp, tail, { mode: 0o600, flag: 'w' });
      await fs.rename(tmp, f);
      await prune(path.basename(f));
    },
    async read(name) {
      try {
        return await fs.readFile(file(name), 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    },
  };
}
