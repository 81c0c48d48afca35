import type { FleetConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { isPresent } from '../reconcile/states.js';
import { deleteScaleSetsOffline } from '../scaleset/offline.js';
import { startDaemon } from './start.js';

export interface DecommissionResult {
  /** Drained in time: no runner of this host is left. */
  done: boolean;
  removed: { name: string; pool: string; githubId: number | null }[];
  /** Runners still there (busy ones finishing their job): never killed. */
  remaining: string[];
  scaleSets: string[];
}

/**
 * deregister --all with no daemon running (a host being decommissioned). The daemon's own
 * reconciler does it, drained from its first pass, so the rules are the daemon's: runners are
 * adopted from the backends and the store, idle ones are deregistered (ownership checked) and
 * stopped, a busy one is kept until its job ends or the timeout passes; scale sets go once their
 * pool has no runner left. The data-dir lock keeps a second daemon (or a second call) out.
 */
export async function decommission(config: FleetConfig, logger: Logger, timeoutMs: number): Promise<DecommissionResult> {
  const daemon = await startDaemon({ config, logger, offline: true });
  try {
    const present = () => daemon.store.runners.list().filter(isPresent);
    const before = present().map((r) => ({ name: r.name, pool: r.pool, githubId: r.githubId ?? null }));
    const done = await daemon.reconciler.drainAndWait(timeoutMs);
    const left = new Set(present().map((r) => r.name));
    const { deleted } = await deleteScaleSetsOffline(config, daemon.store, logger);
    return { done, removed: before.filter((r) => !left.has(r.name)), remaining: [...left], scaleSets: deleted };
  } finally {
    // keep: whatever is still busy goes on; nothing is killed on the way out.
    await daemon.shutdown('keep');
  }
}
