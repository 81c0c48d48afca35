import type { Clock } from '../clock.js';
import { describeError } from '../errors.js';
import type { RunnerService } from '../github/types.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/types.js';
import type { ReconcileMetrics } from './kit.js';
import { rememberScope } from './pool-scopes.js';
import type { PoolRuntime } from './pools.js';

export interface PoolInitDeps {
  store: Store;
  github: RunnerService;
  clock: Clock;
  logger: Logger;
  metrics?: ReconcileMetrics;
  exposureCheckIntervalMs?: number;
}

/**
 * Each pass, before observing: every pool runs its due checks (runner group, public-repository
 * guard). One pool failing them never stops the others; its health goes to the metrics.
 */
export async function initPools(deps: PoolInitDeps, pools: Iterable<PoolRuntime>): Promise<void> {
  await Promise.all(
    [...pools].map(async (p) => {
      try {
        // Remembered so a pool removed later can still have its runners deregistered.
        rememberScope(deps.store, p.cfg.name, p.cfg.scope);
        await p.init(deps.github, deps.clock, deps.exposureCheckIntervalMs);
      } catch (err) {
        const msg = p.exposed ? 'pool refused: no new runners, idle ones retire' : p.ready ? 'pool re-check failed; it keeps running' : 'pool cannot run yet; retrying with backoff';
        deps.logger.warn({ pool: p.cfg.name, err: describeError(err) }, msg);
      }
      deps.metrics?.poolHealthy?.(p.cfg.name, p.healthy);
    }),
  );
}
