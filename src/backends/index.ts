import type { Clock } from '../clock.js';
import type { FleetConfig } from '../config/types.js';
import type { Failpoint } from '../daemon/failpoints.js';
import type { Logger } from '../log.js';
import { dockerModule } from './docker/module.js';
import type { BackendModule } from './module.js';
import { processModule } from './process/module.js';
import { systemdModule } from './systemd/module.js';
import type { Backend, BackendKind } from './types.js';

export type { BackendModule, BackendPlan, SpecParts } from './module.js';
export { poolsOf } from './pools.js';

/** Every kind must have its module: a new BackendKind fails to compile until it is added here. */
const byKind: { [K in BackendKind]: BackendModule<K> } = {
  docker: dockerModule,
  systemd: systemdModule,
  process: processModule,
};

/** The one registry of backend kinds, in display order (doctor rows, plan). */
export const backendModules: ReadonlyMap<BackendKind, BackendModule> = new Map(
  (Object.keys(byKind) as BackendKind[]).map((k) => [k, byKind[k] as BackendModule]),
);

export function moduleOf(kind: BackendKind): BackendModule {
  const m = backendModules.get(kind);
  if (!m) throw new Error(`unknown backend ${String(kind)}`);
  return m;
}

/** The modules the configured pools use, in registry order. */
export function modulesIn(cfg: Pick<FleetConfig, 'pools'>): BackendModule[] {
  const used = new Set(cfg.pools.map((p) => p.backend));
  return [...backendModules.values()].filter((m) => used.has(m.kind));
}

/** Backends load on demand: a process-only host never pays for dockerode (~20 MB resident). */
export async function createBackend(kind: BackendKind, cfg: FleetConfig, logger: Logger, clock?: Clock, failpoint?: Failpoint): Promise<Backend> {
  return moduleOf(kind).create({ cfg, logger, ...(clock ? { clock } : {}), ...(failpoint ? { failpoint } : {}) });
}

/** Only the backends the configured pools use. */
export async function createBackends(cfg: FleetConfig, logger: Logger, clock?: Clock, failpoint?: Failpoint): Promise<Partial<Record<BackendKind, Backend>>> {
  const out: Partial<Record<BackendKind, Backend>> = {};
  for (const m of modulesIn(cfg)) out[m.kind] = await createBackend(m.kind, cfg, logger, clock, failpoint);
  return out;
}
