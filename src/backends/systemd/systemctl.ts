import { FleetError } from '../../errors.js';
import type { CommandResult, CommandRunner } from './exec.js';

export type UnitProps = Record<string, string>;

/** Thin, parse-only helpers over `systemctl`; every call goes through the CommandRunner seam. */
export class Systemctl {
  constructor(private readonly run: CommandRunner) {}

  async exec(args: string[], opts: { signal?: AbortSignal; ok?: number[] } = {}): Promise<CommandResult> {
    let r: CommandResult;
    try {
      r = await this.run(['systemctl', ...args], { signal: opts.signal });
    } catch (err) {
      throw new FleetError('BACKEND_UNAVAILABLE', `systemctl ${args[0]} could not run`, { cause: err });
    }
    if (opts.ok && !opts.ok.includes(r.code)) throw failure(args, r);
    return r;
  }

  /**
   * Unit files matching a glob. Every unit the backend owns has a file (that is where its
   * ownership keys live); a loaded unit without a file cannot be proven ours, so it is skipped.
   */
  async names(pattern: string, signal?: AbortSignal): Promise<string[]> {
    const r = await this.exec(['list-unit-files', '--no-legend', '--no-pager', '--plain', '--', pattern], { signal, ok: [0, 1] });
    // Exit 1 with nothing on stderr is "no match". Anything else is a failure, never an empty
    // list: the reconciler would take every runner for vanished and reap it.
    if (r.code === 1 && r.stderr.trim()) throw failure(['list-unit-files', pattern], r);
    const set = new Set<string>();
    for (const line of r.stdout.split('\n')) {
      const first = line.trim().split(/\s+/)[0];
      if (first && first.endsWith('.service')) set.add(first);
    }
    return [...set].sort();
  }

  /** `systemctl show` for several units at once, keyed by Id. */
  async show(units: string[], props: string[], signal?: AbortSignal): Promise<Map<string, UnitProps>> {
    const out = new Map<string, UnitProps>();
    if (units.length === 0) return out;
    const wanted = props.includes('Id') ? props : ['Id', ...props];
    const r = await this.exec(['show', '--timestamp=unix', `--property=${wanted.join(',')}`, '--', ...units], {
      signal,
      ok: [0],
    });
    for (const block of r.stdout.split(/\n\s*\n/)) {
      const p: UnitProps = {};
      for (const line of block.split('\n')) {
        const i = line.indexOf('=');
        if (i > 0) p[line.slice(0, i)] = line.slice(i + 1);
      }
      if (p.Id) out.set(p.Id, p);
    }
    return out;
  }

  /**
   * Unit file texts by fragment path (`systemctl cat` prints each file after a `# /path`
   * header; drop-ins follow their unit and are split off the same way).
   */
  async cat(units: string[], signal?: AbortSignal): Promise<Map<string, string>> {
    const files = new Map<string, string>();
    if (units.length === 0) return files;
    const r = await this.exec(['cat', '--no-pager', '--', ...units], { signal, ok: [0, 1] });
    // Exit 1 is expected when some unit has no file; any other complaint means the read failed.
    const other = r.stderr.split('\n').filter((l) => l.trim() && !/^No files found for /.test(l));
    if (r.code === 1 && other.length > 0) throw failure(['cat', ...units], r);
    let current: string | undefined;
    let buf: string[] = [];
    const flush = () => current && files.set(current, buf.join('\n'));
    for (const line of r.stdout.split('\n')) {
      const m = /^# (\/\S+\.(?:service|conf))$/.exec(line);
      if (m?.[1]) {
        flush();
        current = m[1];
        buf = [];
      } else buf.push(line);
    }
    flush();
    return files;
  }
}

function failure(args: string[], r: CommandResult): FleetError {
  const msg = `systemctl ${args.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`;
  return new FleetError(busDown(r.stderr) ? 'BACKEND_UNAVAILABLE' : 'BACKEND_FAILED', msg);
}

function busDown(stderr: string): boolean {
  return /Failed to connect to bus|System has not been booted with systemd|Connection refused|No such file or directory/i.test(
    stderr,
  );
}
