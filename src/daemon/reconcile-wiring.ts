import type { Metrics } from '../api/metrics.js';
import type { Backend, BackendKind } from '../backends/types.js';
import type { ReconcileMetrics } from '../reconcile/kit.js';

/** The reconciler reports events; the Prometheus side decides units and names. */
export function reconcileMetrics(m: Metrics, everyPass: () => void): ReconcileMetrics {
  return {
    reconcileDuration: (s) => m.observeReconcile(s * 1000),
    scaleUpLatency: (pool, backend, s) => m.observeScaleUp(pool, backend, s * 1000),
    runnerRestart: (pool, code) => m.runnerRestarted(pool, code),
    runnerExit: (pool, cause) => m.runnerExited(pool, cause),
    job: (pool, conclusion) => m.jobCompleted(pool, conclusion),
    runners: (counts) => {
      m.setRunnerCounts(counts);
      everyPass();
    },
    poolHealthy: (pool, ok) => m.setPoolHealthy(pool, ok),
    pools: (pools) => m.setPools(pools),
    capacity: (figures, pools, cpu) => m.setHostCapacity(figures, pools, cpu),
    diskFreed: (pool, what, bytes) => m.diskFreedBytes(pool, what, bytes),
  };
}

/** Directories the engines fill besides the data dir (Docker's data root). */
export async function backendDisks(backends: Partial<Record<BackendKind, Backend>>): Promise<{ path: string; backend: BackendKind }[]> {
  const out: { path: string; backend: BackendKind }[] = [];
  for (const b of Object.values(backends)) {
    const root = await b?.dataRoot?.();
    if (b && root) out.push({ path: root, backend: b.kind });
  }
  return out;
}
