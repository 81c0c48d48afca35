import { availableParallelism } from 'node:os';
import type { HostCapacityConfig } from '../config/types.js';
import { describeError } from '../errors.js';
import { capacityShortfall, cpuBudget, runnerCpus, type CapacityFigure } from './capacity.js';
import type { PassPlan } from './planner.js';
import type { PoolRuntime } from './pools.js';
import type { ExecutorDeps } from './executor-deps.js';
import type { Observation } from './types.js';

/** A runner's _work is pruned at most this often. */
const PRUNE_EVERY_MS = 10 * 60_000;

/** The data dir's disk within 25 % of its floor (or below it). */
function diskNear(figures: CapacityFigure[]): boolean {
  return figures.some((f) => f.resource === 'disk' && f.onlyFor === undefined && f.floor > 0 && f.free < f.floor * 1.25);
}

/**
 * The host side of each pass: host.capacity figures decide which pools may start runners
 * (PoolRuntime.capacity, an observed input of the planner), and a disk near its floor gets
 * idle persistent runners' _work pruned.
 */
export class HostGuard {
  private readonly prunedAt = new Map<string, number>();
  private figures: CapacityFigure[] = [];
  /** Per-runner CPUs of every pool seen: a removed pool's runners still count while they finish. */
  private readonly cpusSeen = new Map<string, number>();

  constructor(
    private readonly deps: Pick<ExecutorDeps, 'kit' | 'store' | 'clock' | 'logger' | 'metrics'> & { capacity?: () => Promise<CapacityFigure[]> },
    private readonly pools: () => Iterable<PoolRuntime>,
    private readonly settings: () => HostCapacityConfig | undefined = () => undefined,
    private readonly hostCpus: number = availableParallelism(),
  ) {}

  /** host.capacity: a pool below a floor starts nothing new until the floor is met again. */
  async check(): Promise<void> {
    if (!this.deps.capacity) return;
    let figures: CapacityFigure[] = [];
    try {
      figures = await this.deps.capacity();
    } catch (err) {
      this.deps.logger.warn({ err: describeError(err) }, 'cannot read host capacity');
    }
    this.figures = figures;
    for (const p of this.pools()) {
      const short = capacityShortfall(figures, p.cfg.backend) ?? null;
      if (short && short !== p.floorShort) this.deps.logger.warn({ pool: p.cfg.name, code: 'HOST_CAPACITY', detail: short }, 'pool starts no new runner: host capacity');
      else if (!short && p.floorShort) this.deps.logger.info({ pool: p.cfg.name }, 'host capacity met again; pool starts runners');
      p.setCapacity(short);
    }
    if (diskNear(figures)) await this.pruneIdleWork();
  }

  /** host.capacity.cpus for the planner (Observation.cpu), or nothing when no budget is set. */
  cpuObservation(): Pick<Observation, 'cpu'> {
    const budget = cpuBudget(this.settings(), this.hostCpus);
    const current = new Set<string>();
    for (const p of this.pools()) {
      current.add(p.cfg.name);
      const c = runnerCpus(p.cfg);
      if (c === undefined) this.cpusSeen.delete(p.cfg.name);
      else this.cpusSeen.set(p.cfg.name, c);
    }
    if (budget === undefined) return {};
    const gonePools = new Map([...this.cpusSeen].filter(([name]) => !current.has(name)));
    return { cpu: { budget, ...(gonePools.size ? { gonePools } : {}) } };
  }

  /**
   * After the plan: pools the CPU budget held back report HOST_CAPACITY (busy and idle runners
   * are never touched; they start the rest once runners end), and the metrics get this pass's figures.
   */
  afterPlan({ cpuHeld, cpu }: Pick<PassPlan, 'cpuHeld' | 'cpu'>): void {
    for (const p of this.pools()) {
      const why = cpuHeld.get(p.cfg.name) ?? null;
      // Logged on the change only: the figure moves with every runner that starts or ends.
      if (why && !p.cpuHeld) this.deps.logger.warn({ pool: p.cfg.name, code: 'HOST_CAPACITY', detail: why }, 'pool starts no more runners: CPU budget');
      else if (!why && p.cpuHeld) this.deps.logger.info({ pool: p.cfg.name }, 'CPU budget has room again; pool starts runners');
      p.setCpuHeld(why);
    }
    this.deps.metrics?.capacity?.(this.figures, [...this.pools()].map((p) => ({ pool: p.cfg.name, blocked: p.capacity !== null })), cpu);
  }

  /** Disk near its floor: idle persistent runners lose their own _work (never a busy one's). */
  private async pruneIdleWork(): Promise<void> {
    if (!this.deps.kit.pruneWork) return;
    const now = this.deps.clock.now();
    for (const r of this.deps.store.runners.list({ states: ['idle'] })) {
      if (r.ephemeral || r.busy) continue;
      const hook = await this.deps.kit.readHook(r.name).catch(() => ({ state: 'busy' as const }));
      if (hook?.state === 'busy') continue;
      if (now - (this.prunedAt.get(r.name) ?? 0) < PRUNE_EVERY_MS) continue;
      const bytes = await this.deps.kit.pruneWork(r.name).catch(() => 0);
      if (bytes > 0) {
        this.prunedAt.set(r.name, now);
        this.deps.metrics?.diskFreed?.(r.pool, 'work_dir', bytes);
        this.deps.logger.info({ runner: r.name, pool: r.pool, freedBytes: bytes }, 'disk near its floor: pruned an idle runner\'s _work');
      }
    }
  }

}
