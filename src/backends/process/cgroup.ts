import { accessSync, constants as fsc, existsSync, readFileSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { RunnerLimits } from '../../config/types.js';
import { FleetError } from '../../errors.js';

/** Where the cgroup file systems and this process's membership are read (tests: a fake layout). */
export interface CgroupPaths {
  /** Default /sys/fs/cgroup. */
  root?: string;
  /** Default /proc/self/cgroup. */
  self?: string;
}

export type Controller = 'memory' | 'cpu' | 'pids';

/** The controllers a pool's limits need. */
export function neededControllers(l: RunnerLimits | undefined): Controller[] {
  const out: Controller[] = [];
  if (l?.memory) out.push('memory');
  if (l?.cpus) out.push('cpu');
  if (l?.pids) out.push('pids');
  return out;
}

/**
 * Where runner groups go. v2: `parent` is `{daemon's cgroup}/runner-fleet`; when the daemon's
 * own cgroup does not pass the controllers down yet, the daemon first moves its processes into
 * the leaf `{daemon's cgroup}/runner-fleet-daemon` (a cgroup with processes cannot enable
 * controllers for children). v1: one `{hierarchy}{daemon's path}/runner-fleet` per controller.
 */
export type CgroupHost =
  | { version: 2; own: string; parent: string; enable: Controller[]; isRoot: boolean }
  | { version: 1; parents: Partial<Record<Controller, string>> };

/** What the shipped unit lacks, said once for every refusal. */
const SYSTEMD_HINT =
  'under systemd: a drop-in with [Service] Delegate=yes and ProtectControlGroups=no (systemctl edit runner-fleet), or use a docker or systemd pool';

/**
 * Can this daemon put a runner in a cgroup with these limits? Sync and read-only (config
 * validation and doctor ask it). Returns where groups go, or why not.
 */
export function probeCgroups(need: Controller[], p: CgroupPaths = {}, lenient = false): { host: CgroupHost } | { why: string } {
  const root = p.root ?? '/sys/fs/cgroup';
  let self: string;
  try {
    self = readFileSync(p.self ?? '/proc/self/cgroup', 'utf8');
  } catch {
    return { why: 'this host has no /proc/self/cgroup (no cgroups)' };
  }
  const lines = self.split('\n').filter(Boolean).map((l) => {
    const [, , ctrls = '', rel = '/'] = /^(\d+):([^:]*):(.*)$/.exec(l) ?? [];
    return { ctrls: ctrls.split(',').filter(Boolean), rel };
  });
  if (existsSync(path.join(root, 'cgroup.controllers'))) return probeV2(need, root, lines.find((l) => l.ctrls.length === 0)?.rel ?? '/', lenient);
  return probeV1(need, root, lines, lenient);
}

/** Where existing runner groups are, for cleanup and OOM counts (no check that new ones could be made). */
export function findCgroups(p: CgroupPaths = {}): RunnerCgroups | undefined {
  const found = probeCgroups(['memory', 'cpu', 'pids'], p, true);
  return 'host' in found ? new RunnerCgroups(found.host) : undefined;
}

/** The leaf the daemon moves itself into when it must pass controllers down from its own cgroup. */
const DAEMON_LEAF = 'runner-fleet-daemon';

function probeV2(need: Controller[], root: string, cgroupOfSelf: string, lenient: boolean): { host: CgroupHost } | { why: string } {
  // Already moved into our leaf (an earlier create): the delegated cgroup is its parent.
  const rel = path.posix.basename(cgroupOfSelf) === DAEMON_LEAF ? path.posix.dirname(cgroupOfSelf) : cgroupOfSelf;
  const own = path.join(root, rel);
  if (lenient) return { host: { version: 2, own, parent: path.join(own, 'runner-fleet'), enable: [], isRoot: rel === '/' } };
  const available = words(path.join(own, 'cgroup.controllers'));
  const missing = need.filter((c) => !available.includes(c));
  if (missing.length) {
    return { why: `its cgroup ${own} is not delegated the ${missing.join(', ')} controller(s) (cgroup.controllers: ${available.join(' ') || 'none'}); ${SYSTEMD_HINT}` };
  }
  const denied = writable(own);
  if (denied) return { why: `it cannot create a child group in its cgroup ${own} (${denied}); ${SYSTEMD_HINT}` };
  const enabled = words(path.join(own, 'cgroup.subtree_control'));
  return { host: { version: 2, own, parent: path.join(own, 'runner-fleet'), enable: need.filter((c) => !enabled.includes(c)), isRoot: rel === '/' } };
}

function probeV1(need: Controller[], root: string, lines: { ctrls: string[]; rel: string }[], lenient: boolean): { host: CgroupHost } | { why: string } {
  const parents: Partial<Record<Controller, string>> = {};
  for (const c of need) {
    const line = lines.find((l) => l.ctrls.includes(c));
    const mount = line && [path.join(root, line.ctrls.join(',')), path.join(root, c)].find((d) => existsSync(path.join(d, 'cgroup.procs')));
    if (lenient && (!line || !mount)) continue;
    if (!line || !mount) return { why: `this host has no cgroup v1 ${c} hierarchy under ${root} and no cgroup v2` };
    const own = path.join(mount, line.rel);
    const denied = lenient ? undefined : writable(own);
    if (denied) return { why: `it cannot create a child group in ${own} (${denied}); ${SYSTEMD_HINT}` };
    parents[c] = path.join(own, 'runner-fleet');
  }
  return { host: { version: 1, parents } };
}

function words(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

/** undefined when the daemon may create a directory there; else why not. */
function writable(dir: string): string | undefined {
  try {
    accessSync(dir, fsc.W_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'EROFS' ? 'read-only: systemd ProtectControlGroups=yes?' : code === 'EACCES' ? `not writable by uid ${process.getuid?.() ?? '?'}` : String(code);
  }
}

/** The group files a runner's limits become (tests read them back). */
export function limitFiles(version: 1 | 2, l: RunnerLimits): Array<[Controller, string, string]> {
  const out: Array<[Controller, string, string]> = [];
  const period = 100_000;
  if (version === 2) {
    if (l.memory) out.push(['memory', 'memory.max', String(l.memory)], ['memory', 'memory.swap.max', '0'], ['memory', 'memory.oom.group', '0']);
    if (l.cpus) out.push(['cpu', 'cpu.max', `${Math.round(l.cpus * period)} ${period}`]);
    if (l.pids) out.push(['pids', 'pids.max', String(l.pids)]);
  } else {
    // memsw (memory + swap) after the memory limit: it may never be below it.
    if (l.memory) out.push(['memory', 'memory.limit_in_bytes', String(l.memory)], ['memory', 'memory.memsw.limit_in_bytes', String(l.memory)]);
    if (l.cpus) out.push(['cpu', 'cpu.cfs_period_us', String(period)], ['cpu', 'cpu.cfs_quota_us', String(Math.round(l.cpus * period))]);
    if (l.pids) out.push(['pids', 'pids.max', String(l.pids)]);
  }
  return out;
}

/** Optional files: swap accounting may be off (memsw, memory.swap.max), memory.oom.group needs 4.19. */
const OPTIONAL = new Set(['memory.memsw.limit_in_bytes', 'memory.swap.max', 'memory.oom.group']);

/**
 * Per-runner groups. The Listener and its jobs share one group with the limits; the OOM killer
 * takes the job first (the job hook raises its oom_score_adj) and never the whole group
 * (memory.oom.group 0, v1 has no group kill), so the Listener survives a job's OOM.
 */
export class RunnerCgroups {
  private prepared: Promise<void> | undefined;

  constructor(private readonly host: CgroupHost) {}

  /** Every directory a runner's group has (one per v1 hierarchy). */
  dirs(name: string): string[] {
    const parents = this.host.version === 2 ? [this.host.parent] : Object.values(this.host.parents);
    return parents.map((p) => path.join(p, name));
  }

  /** v2, once: controllers passed down to runner-fleet/, moving the daemon into a leaf first if it must. */
  private prepare(): Promise<void> {
    const h = this.host;
    if (h.version === 1) return Promise.resolve();
    this.prepared ??= (async () => {
      if (h.enable.length) {
        if (!h.isRoot) {
          const leaf = path.join(h.own, DAEMON_LEAF);
          await fs.mkdir(leaf, { recursive: true });
          for (const pid of await procs(h.own)) await fs.writeFile(path.join(leaf, 'cgroup.procs'), pid).catch(() => undefined);
        }
        await fs.writeFile(path.join(h.own, 'cgroup.subtree_control'), h.enable.map((c) => `+${c}`).join(' '));
      }
      await fs.mkdir(h.parent, { recursive: true });
      const all = words(path.join(h.parent, 'cgroup.controllers')).filter((c): c is Controller => ['memory', 'cpu', 'pids'].includes(c));
      if (all.length) await fs.writeFile(path.join(h.parent, 'cgroup.subtree_control'), all.map((c) => `+${c}`).join(' '));
    })().catch((err) => {
      this.prepared = undefined;
      throw new FleetError('BACKEND_FAILED', `cannot set up cgroup ${h.parent} for runner limits`, { cause: err });
    });
    return this.prepared;
  }

  /** Creates the runner's group with its limits; nothing is left behind if a write fails. */
  async create(name: string, l: RunnerLimits): Promise<void> {
    await this.prepare();
    const v = this.host.version;
    const dirOf = (c: Controller) => (v === 2 ? path.join(this.host.parent, name) : path.join((this.host as { parents: Partial<Record<Controller, string>> }).parents[c]!, name));
    try {
      for (const d of this.dirs(name)) await fs.mkdir(d, { recursive: true });
      for (const [c, file, value] of limitFiles(v, l)) {
        const f = path.join(dirOf(c), file);
        if (OPTIONAL.has(file) && !existsSync(f)) continue;
        await fs.writeFile(f, value);
      }
    } catch (err) {
      await this.remove(name).catch(() => undefined);
      throw new FleetError('BACKEND_FAILED', `runner ${name}: cannot apply limits in cgroup ${this.dirs(name).join(', ')}`, { cause: err });
    }
  }

  /** Moves a process (the shim, before it starts the runner) into every directory of the group. */
  async join(name: string, pid: number): Promise<void> {
    for (const d of this.dirs(name)) await fs.writeFile(path.join(d, 'cgroup.procs'), String(pid));
  }

  /** OOM kills in the group so far (v2 memory.events, v1 memory.oom_control); undefined if it has no memory group. */
  async oomKills(name: string): Promise<number | undefined> {
    const h = this.host;
    const file = h.version === 2 ? path.join(h.parent, name, 'memory.events') : h.parents.memory ? path.join(h.parents.memory, name, 'memory.oom_control') : undefined;
    if (!file) return undefined;
    const text = await fs.readFile(file, 'utf8').catch(() => undefined);
    const n = text ? /^oom_kill (\d+)$/m.exec(text)?.[1] : undefined;
    return n === undefined ? undefined : Number(n);
  }

  /**
   * Kills what is left in the group (a job process that left the runner's process group) and
   * removes it. Only called once the runner itself has ended.
   */
  async remove(name: string): Promise<void> {
    for (const d of this.dirs(name)) {
      if (!existsSync(d)) continue;
      // Pids are signalled only when the list comes from the kernel, never from a plain file.
      const real = CGROUP_MAGIC.has((await fs.statfs(d)).type);
      for (let i = 0; real && i < 50; i++) {
        const left = await procs(d);
        if (!left.length) break;
        if (i === 0 && existsSync(path.join(d, 'cgroup.kill'))) await fs.writeFile(path.join(d, 'cgroup.kill'), '1').catch(() => undefined);
        for (const pid of left) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // already gone
          }
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      await fs.rmdir(d);
    }
  }
}

/** statfs f_type of cgroup v1 and cgroup2 file systems. */
const CGROUP_MAGIC = new Set([0x27e0eb, 0x63677270]);

async function procs(dir: string): Promise<string[]> {
  const text = await fs.readFile(path.join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
  return text.split('\n').filter((l) => /^\d+$/.test(l));
}
