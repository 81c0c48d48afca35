import type { Clock } from '../clock.js';
import type { FleetConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import type { Backend, BackendKind } from './types.js';

/**
 * The one place that knows how each backend is built from the config. Backends load on demand:
 * a process-only host never pays for dockerode (~20 MB resident).
 */
export async function createBackend(kind: BackendKind, cfg: FleetConfig, logger: Logger, clock?: Clock): Promise<Backend> {
  const host = cfg.host.name;
  switch (kind) {
    case 'docker': {
      const { createDockerBackend } = await import('./docker/index.js');
      return createDockerBackend({ host, logger, ...(clock ? { clock } : {}) });
    }
    case 'systemd': {
      const { createSystemdBackend } = await import('./systemd/index.js');
      return createSystemdBackend({ host, logger });
    }
    case 'process': {
      const { createProcessBackend } = await import('./process/index.js');
      return createProcessBackend({ host, dataDir: cfg.host.dataDir, logger, ...(clock ? { clock } : {}) });
    }
  }
}

/** Only the backends the configured pools use. */
export async function createBackends(cfg: FleetConfig, logger: Logger, clock?: Clock): Promise<Partial<Record<BackendKind, Backend>>> {
  const out: Partial<Record<BackendKind, Backend>> = {};
  for (const kind of new Set(cfg.pools.map((p) => p.backend))) out[kind] = await createBackend(kind, cfg, logger, clock);
  return out;
}
