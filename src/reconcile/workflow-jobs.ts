import { runnerLabels } from '../config/names.js';
import type { Store } from '../store/types.js';
import { poolForJob, type JobQueue } from './jobs.js';
import type { ReconcileMetrics } from './kit.js';
import type { PoolRuntime } from './pools.js';
import { viaScaleSet } from './states.js';

/** The parts of a workflow_job delivery the reconciler uses. */
export interface WorkflowJobLike {
  action: string;
  job: { id: number; runId: number; name: string; labels: string[]; runnerName: string | null; conclusion: string | null };
  repository: { fullName: string; private?: boolean };
}

export interface WorkflowJobDeps {
  store: Store;
  metrics?: ReconcileMetrics;
  arch: string;
}

/**
 * A workflow_job delivery. `queued` starts a runner at once (no minimum job age, no polling
 * delay); `in_progress`/`completed` update busy state and job metrics. Returns whether a
 * reconcile pass should run now.
 */
export function applyWorkflowJob(deps: WorkflowJobDeps, pools: PoolRuntime[], jobs: JobQueue, e: WorkflowJobLike): boolean {
  const { job } = e;
  // A delivery from a public repository: its repo-scoped pools re-check now, not in minutes.
  if (e.repository.private === false) {
    for (const p of pools) {
      const s = p.cfg.scope;
      if (s.kind === 'repo' && `${s.owner}/${s.repo}`.toLowerCase() === e.repository.fullName.toLowerCase() && !p.cfg.allowPublicRepos) p.recheckSoon();
    }
  }
  if (e.action === 'queued') {
    // Scale-set pools take their jobs from the scale set's queue, never from webhooks.
    const cfgs = pools.map((p) => p.cfg).filter((p) => !viaScaleSet(p));
    const pool = poolForJob(cfgs, job.labels, e.repository.fullName, (p) => runnerLabels(p, deps.arch));
    return !!pool && jobs.add(job.id, pool.name, job.runId);
  }
  const queued = jobs.take(job.id, job.runnerName, job.runId);
  const row = job.runnerName ? deps.store.runners.get(job.runnerName) : undefined;
  if (row && row.state !== 'gone') {
    const busy = e.action === 'in_progress';
    deps.store.runners.update(row.name, {
      busy,
      ranJob: true,
      jobName: job.name,
      ...(row.state === 'idle' || row.state === 'busy' ? { state: busy ? 'busy' : 'idle' } : {}),
    });
    if (e.action === 'completed') deps.metrics?.job?.(row.pool, job.conclusion ?? 'unknown');
  }
  return !!(queued || row);
}
