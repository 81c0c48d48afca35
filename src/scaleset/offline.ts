import { systemClock } from '../clock.js';
import type { FleetConfig } from '../config/types.js';
import { createGitHubClient } from '../github/client.js';
import { TokenCache } from '../github/tokens.js';
import type { Logger } from '../log.js';
import { createHttp } from '../net/http.js';
import { isPresent } from '../reconcile/states.js';
import type { Store } from '../store/types.js';
import { ScaleSetManager } from './manager.js';

/**
 * deregister --all with the daemon stopped (a host being decommissioned): delete this host's
 * scale sets straight from the state database and GitHub, each only once its pool has no
 * runner left in the store (a runner still recorded may still run a job assigned through it).
 */
export async function deleteScaleSetsOffline(cfg: FleetConfig, store: Store, logger: Logger): Promise<{ deleted: string[]; kept: string[] }> {
  const rows = store.runners.list().filter(isPresent);
  const sets = store.scaleSets.list();
  const busyPools = new Set(sets.filter((s) => rows.some((r) => r.pool === s.pool)).map((s) => s.pool));
  const http = createHttp({ network: cfg.network });
  try {
    const gh = createGitHubClient({ apiUrl: cfg.github.apiUrl, auth: cfg.github.auth, logger, fetch: http.fetch });
    const tokens = new TokenCache({ service: gh.service, store, logger });
    const manager = new ScaleSetManager({
      apiUrl: cfg.github.apiUrl, githubUrl: cfg.github.url, host: cfg.host.name, store, clock: systemClock,
      logger, fetch: http.fetch, registrationToken: (scope) => tokens.get(scope, 'registration'), events: { changed: () => undefined },
    });
    const deleted = await manager.deleteScaleSets((pool) => !busyPools.has(pool));
    return { deleted, kept: sets.filter((s) => busyPools.has(s.pool)).map((s) => s.name) };
  } finally {
    await http.close();
  }
}
