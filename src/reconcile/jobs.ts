import type { Clock } from '../clock.js';
import type { PoolConfig } from '../config/types.js';

/** Jobs queued on GitHub (from webhooks) that a pool should start runners for. */
interface Queued {
  pool: string;
  at: number;
  /** The workflow run (run_id); 0 when the delivery did not say. */
  runId: number;
}

/** A runner's job hook said it took a job of this run before GitHub's in_progress delivery named it. */
interface Claim {
  pool: string;
  runId: number;
  at: number;
}

/** A queued job nobody picked up in this long is assumed cancelled and stops holding capacity. */
const QUEUED_TTL_MS = 30 * 60_000;
/** An in_progress delivery normally follows a job start within seconds; a lost one stops counting after this. */
const CLAIM_TTL_MS = 10 * 60_000;

/**
 * Queued jobs per pool, less those already picked up. A runner picks a job up before GitHub's
 * in_progress delivery says so; counting that job as still queued while its runner is already
 * busy would start one runner too many. So a runner whose job hook reports a run with queued
 * jobs "claims" one of them until the delivery naming that runner arrives.
 */
export class JobQueue {
  private readonly queued = new Map<number, Queued>();
  /** By runner name. */
  private readonly claims = new Map<string, Claim>();
  /** `runner@runId` already named by a delivery: a later hook observation claims nothing. */
  private readonly resolved = new Map<string, number>();

  constructor(private readonly clock: Clock) {}

  add(jobId: number, pool: string, runId = 0): boolean {
    if (this.queued.has(jobId)) return false;
    this.queued.set(jobId, { pool, at: this.clock.now(), runId });
    return true;
  }

  /**
   * The job left the queue (in_progress or completed), run by `runner` if the delivery said.
   * Returns when it was queued.
   */
  take(jobId: number, runner?: string | null, runId = 0): Queued | undefined {
    const q = this.queued.get(jobId);
    this.queued.delete(jobId);
    if (runner) {
      this.claims.delete(runner);
      this.resolved.set(`${runner}@${q?.runId ?? runId}`, this.clock.now());
    }
    return q;
  }

  /** A runner's job hook reports a job of `runId` in progress. Idempotent. */
  claim(runner: string, pool: string, runId: number): void {
    if (this.claims.has(runner) || this.resolved.has(`${runner}@${runId}`)) return;
    this.claims.set(runner, { pool, runId, at: this.clock.now() });
  }

  queuedFor(pool: string): number {
    this.expire();
    const byRun = new Map<number, number>();
    for (const q of this.queued.values()) if (q.pool === pool) byRun.set(q.runId, (byRun.get(q.runId) ?? 0) + 1);
    for (const c of this.claims.values()) {
      // Only a job this queue holds can be claimed: a claim for any other run changes nothing.
      if (c.pool === pool && c.runId !== 0 && (byRun.get(c.runId) ?? 0) > 0) byRun.set(c.runId, byRun.get(c.runId)! - 1);
    }
    let n = 0;
    for (const v of byRun.values()) n += v;
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
    for (const [r, c] of this.claims) if (now - c.at > CLAIM_TTL_MS) this.claims.delete(r);
    for (const [k, at] of this.resolved) if (now - at > CLAIM_TTL_MS) this.resolved.delete(k);
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
