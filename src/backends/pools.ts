import type { BackendKind, FleetConfig, PoolOf } from '../config/types.js';

/** The configured pools of one backend, typed with that backend's settings. */
export function poolsOf<K extends BackendKind>(cfg: Pick<FleetConfig, 'pools'>, kind: K): PoolOf<K>[] {
  return cfg.pools.filter((p): p is PoolOf<K> => p.backend === kind);
}
