import { describeError } from '../errors.js';
import { capacityShortfall, type CapacityFigure } from './capacity.js';
import type { PoolRuntime } from './pools.js';
import type { ExecutorDeps } from './executor-deps.js';

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

  constructor(
    private readonly deps: Pick<ExecutorDeps, 'kit' | 'store' | 'clock' | 'logger' | 'metrics'> & { capacity?: () => Promise<CapacityFigure[]> },
    private readonly pools: () => Iterable<PoolRuntime>,
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
    for (const p of this.pools()) {
      const short = capacityShortfall(figures, p.cfg.backend) ?? null;
      if (short && short !== p.capacity) this.deps.logger.warn({ pool: p.cfg.name, code: 'HOST_CAPACITY', detail: short }, 'pool starts no new runner: host capacity');
      else if (!short && p.capacity) this.deps.logger.info({ pool: p.cfg.name }, 'host capacity met again; pool starts runners');
      p.setCapacity(short);
    }
    this.deps.metrics?.capacity?.(figures, [...this.pools()].map((p) => ({ pool: p.cfg.name, blocked: p.capacity !== null })));
    if (diskNear(figures)) await this.pruneIdleWork();
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
