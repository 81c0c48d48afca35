import type { Clock } from '../clock.js';
import type { FleetConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import type { Reconciler } from '../reconcile/reconciler.js';
import { viaScaleSet } from '../reconcile/states.js';
import type { ScaleSetManager } from '../scaleset/manager.js';

/**
 * deregister --all: once the scale-set pools have no runners left, delete their scale sets so
 * GitHub routes nothing more to this host (a host being decommissioned).
 */
export async function deleteScaleSetsWhenDrained(reconciler: Reconciler, scaleSets: ScaleSetManager, cfg: FleetConfig, clock: Clock, logger: Logger): Promise<void> {
  const pools = cfg.pools.filter(viaScaleSet).map((p) => p.name);
  while (pools.some((p) => reconciler.liveCount(p) > 0)) await clock.sleep(500);
  const deleted = await scaleSets.deleteScaleSets();
  logger.info({ scaleSets: deleted }, 'deregister --all: scale sets deleted');
}
