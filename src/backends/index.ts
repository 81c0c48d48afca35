import type { Clock } from '../clock.js';
import type { FleetConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { createDockerBackend } from './docker/index.js';
import { createProcessBackend } from './process/index.js';
import { createSystemdBackend } from './systemd/index.js';
import type { Backend, BackendKind } from './types.js';

/** The one place that knows how each backend is built from the config. */
export function createBackend(kind: BackendKind, cfg: FleetConfig, logger: Logger, clock?: Clock): Backend {
  const host = cfg.host.name;
  switch (kind) {
    case 'docker':
      return createDockerBackend({ host, logger, ...(clock ? { clock } : {}) });
    case 'systemd':
      return createSystemdBackend({ host, logger });
    case 'process':
      return createProcessBackend({ host, dataDir: cfg.host.dataDir, logger, ...(clock ? { clock } : {}) });
  }
}

/** Only the backends the configured pools use. */
export function createBackends(cfg: FleetConfig, logger: Logger, clock?: Clock): Partial<Record<BackendKind, Backend>> {
  const out: Partial<Record<BackendKind, Backend>> = {};
  for (const kind of new Set(cfg.pools.map((p) => p.backend))) out[kind] = createBackend(kind, cfg, logger, clock);
  return out;
}
