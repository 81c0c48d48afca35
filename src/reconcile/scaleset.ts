import type { JobMessage } from '../github/scaleset/types.js';
import { assignedNow } from '../scaleset/desired.js';
import type { Store } from '../store/types.js';
import type { ReconcileMetrics, ScaleSetPort } from './kit.js';
import type { PoolRuntime } from './pools.js';
import { viaScaleSet } from './states.js';

/**
 * A scale-set pool's demand for the planner: the last statistics' assigned jobs, minus the
 * runners of the pool that finished a job after those statistics (their exit is the truth).
 */
export function scaleSetDemand(port: ScaleSetPort | undefined, pool: PoolRuntime, store: Store): { assigned: number; ready: boolean } | undefined {
  if (!viaScaleSet(pool.cfg)) return undefined;
  const stats = port?.assigned(pool.cfg.name);
  if (!port || !stats) return { assigned: 0, ready: false };
  const finished = store.runners
    .list({ pool: pool.cfg.name, includeGone: true })
    .filter((r) => r.ranJob && (r.state === 'gone' || r.state === 'deleting') && r.updatedAt > stats.at).length;
  return { assigned: assignedNow(stats.jobs, finished), ready: port.ready(pool.cfg.name) };
}

/**
 * JobStarted / JobCompleted from a scale set's queue, recorded before the message is
 * acknowledged: the runner is busy (or not) from GitHub's own word, without a REST call.
 */
export function recordScaleSetJob(store: Store, metrics: ReconcileMetrics | undefined, pool: string, job: JobMessage): void {
  const row = job.runnerName ? store.runners.get(job.runnerName) : undefined;
  if (!row || row.pool !== pool || row.state === 'gone') return;
  const busy = job.messageType === 'JobStarted';
  store.runners.update(row.name, {
    busy,
    ranJob: true,
    ...(job.jobDisplayName ? { jobName: job.jobDisplayName } : {}),
    ...(row.state === 'idle' || row.state === 'busy' ? { state: busy ? 'busy' : 'idle' } : {}),
  });
  if (!busy) metrics?.job?.(pool, conclusionOf(job.result));
}

/** The scale set says succeeded/failed/canceled; webhooks (and the jobs metric) say success/failure/cancelled. */
function conclusionOf(result: string | undefined): string {
  const r = (result ?? '').toLowerCase();
  return r === 'succeeded' ? 'success' : r === 'failed' ? 'failure' : r === 'canceled' || r === 'cancelled' ? 'cancelled' : r || 'unknown';
}
