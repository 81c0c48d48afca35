import type { Clock } from '../clock.js';
import type { PoolConfig } from '../config/types.js';

/** Jobs queued on GitHub (from webhooks) that a pool should start runners for. */
interface Queued {
  pool: string;
  at: number;
}

/** A queued job nobody picked up in this long is assumed cancelled and stops holding capacity. */
const QUEUED_TTL_MS = 30 * 60_000;

export class JobQueue {
  private readonly queued = new Map<number, Queued>();

  constructor(private readonly clock: Clock) {}

  add(jobId: number, pool: string): boolean {
    if (this.queued.has(jobId)) return false;
    this.queued.set(jobId, { pool, at: this.clock.now() });
    return true;
  }

  /** The job left the queue (in_progress or completed). Returns when it was queued. */
  take(jobId: number): Queued | undefined {
    const q = this.queued.get(jobId);
    this.queued.delete(jobId);
    return q;
  }

  queuedFor(pool: string): number {
    this.expire();
    let n = 0;
    for (const q of this.queued.values()) if (q.pool === pool) n++;
    return n;
  }

  /** When the oldest job still waiting for this pool was queued (scale-up latency). */
  oldestFor(pool: string): number | undefined {
    let oldest: number | undefined;
    for (const q of this.queued.values()) if (q.pool === pool && (oldest === undefined || q.at < oldest)) oldest = q.at;
    return oldest;
  }

  private expire(): void {
    const now = this.clock.now();
    for (const [id, q] of this.queued) if (now - q.at > QUEUED_TTL_MS) this.queued.delete(id);
  }
}

/**
 * The pool that should serve a job: every runs-on label must be one of the pool's labels
 * (defaults included, case-insensitive), the scope must cover the repository, and the pool
 * must autoscale. The first match in config order wins.
 */
export function poolForJob(
  pools: PoolConfig[],
  jobLabels: string[],
  repoFullName: string,
  labelsOf: (p: PoolConfig) => string[],
): PoolConfig | undefined {
  const wanted = jobLabels.map((l) => l.toLowerCase());
  const [owner] = repoFullName.split('/');
  return pools.find((p) => {
    if (!p.scale) return false;
    const s = p.scope;
    if (s.kind === 'repo' && `${s.owner}/${s.repo}`.toLowerCase() !== repoFullName.toLowerCase()) return false;
    if (s.kind === 'org' && s.org.toLowerCase() !== owner?.toLowerCase()) return false;
    const have = new Set(labelsOf(p).map((l) => l.toLowerCase()));
    return wanted.every((l) => have.has(l));
  });
}
