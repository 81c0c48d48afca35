import { runnerLabels } from '../config/names.js';
import type { Store } from '../store/types.js';
import type { JobQueue } from './jobs.js';
import type { ReconcileMetrics } from './kit.js';
import type { PoolRuntime } from './pools.js';

export interface PoolReportDeps {
  metrics?: ReconcileMetrics;
  store: Store;
  arch: string;
}

/** After each pass: per-pool demand and per-state runner counts, for the metrics side. */
export function reportCounts(deps: PoolReportDeps, pools: Iterable<PoolRuntime>, jobs: JobQueue): void {
  reportPools(deps, pools, jobs);
  if (!deps.metrics?.runners) return;
  const counts = new Map<string, number>();
  for (const r of deps.store.runners.list().filter((x) => x.state !== 'failed')) counts.set(`${r.pool}\u0000${r.state}`, (counts.get(`${r.pool}\u0000${r.state}`) ?? 0) + 1);
  deps.metrics.runners(
    [...counts].map(([k, count]) => {
      const [pool, state] = k.split('\u0000') as [string, string];
      return { pool, state, count };
    }),
  );
}

function reportPools(deps: PoolReportDeps, pools: Iterable<PoolRuntime>, jobs: JobQueue): void {
  deps.metrics?.pools?.(
    [...pools].map((p) => {
      const c = p.cfg;
      const queued = jobs.queuedFor(c.name);
      const oldestQueuedAt = queued > 0 ? jobs.oldestFor(c.name) : undefined;
      const desired = c.size ?? Math.min(c.scale?.max ?? 0, (c.scale?.minIdle ?? 0) + queued);
      return { pool: c.name, backend: c.backend, labels: runnerLabels(c, deps.arch), desired, queued, ...(oldestQueuedAt !== undefined ? { oldestQueuedAt } : {}) };
    }),
  );
}
