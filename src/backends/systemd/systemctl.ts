import path from 'node:path';
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
   * header; drop-ins follow their unit and are split off the same way). A unit with no file is
   * simply absent. A unit whose file vanishes mid-call (a concurrent destroy) stops `systemctl
   * cat` there, so the units after it are asked for again; any other failure is an error.
   */
  async cat(units: string[], signal?: AbortSignal): Promise<Map<string, string>> {
    const files = new Map<string, string>();
    let todo = units;
    for (let round = 0; todo.length > 0 && round < 5; round++) {
      const r = await this.exec(['cat', '--no-pager', '--', ...todo], { signal, ok: [0, 1] });
      parseCat(r.stdout, files);
      if (r.code === 0) break;
      const { absent, vanished, other } = parseCatErrors(r.stderr);
      if (other.length > 0) throw failure(['cat', ...todo], r);
      if (vanished.size === 0) break;
      const printed = new Set([...files.keys()].map((f) => path.basename(f)));
      todo = todo.filter((u) => !printed.has(u) && !absent.has(u) && !vanished.has(u));
    }
    return files;
  }
}

function parseCat(stdout: string, into: Map<string, string>): void {
  let current: string | undefined;
  let buf: string[] = [];
  const flush = () => current && into.set(current, buf.join('\n'));
  for (const line of stdout.split('\n')) {
    const m = /^# (\/\S+\.(?:service|conf))$/.exec(line);
    if (m?.[1]) {
      flush();
      current = m[1];
      buf = [];
    } else buf.push(line);
  }
  flush();
}

/** systemctl cat's stderr: units without a file, unit files that vanished mid-read, anything else. */
function parseCatErrors(stderr: string): { absent: Set<string>; vanished: Set<string>; other: string[] } {
  const absent = new Set<string>();
  const vanished = new Set<string>();
  const other: string[] = [];
  for (const line of stderr.split('\n')) {
    const none = /^No files found for (\S+)\.$/.exec(line);
    const gone = /^Failed to cat (\/\S+): No such file or directory$/.exec(line);
    if (none?.[1]) absent.add(none[1]);
    else if (gone?.[1]) vanished.add(path.basename(gone[1]));
    // "# Warning: ... changed on disk" and its explanation lines are advice, not failure.
    else if (line.trim() && !line.startsWith('# ')) other.push(line);
  }
  return { absent, vanished, other };
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
