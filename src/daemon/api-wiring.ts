import type { Metrics } from '../api/metrics.js';
import type { ApiDeps } from '../api/deps.js';
import { controlSocketPath } from '../api/socket.js';
import { deliveryLog } from '../api/webhook.js';
import type { Clock } from '../clock.js';
import type { TokenCache } from '../github/tokens.js';
import type { Logger } from '../log.js';
import type { Reconciler } from '../reconcile/reconciler.js';
import type { ScaleSetManager } from '../scaleset/manager.js';
import type { Store } from '../store/types.js';
import { VERSION } from '../version.js';
import { deleteScaleSetsWhenDrained } from './deregister-all.js';
import type { NetworkChecks } from './netchecks.js';
import type { Live } from './parts.js';
import { buildStatus } from './status.js';
import type { ToolSet } from './tool-set.js';
import type { RunnerVersions } from './versions.js';

export interface ApiWiring {
  logger: Logger;
  clock: Clock;
  metrics: Metrics;
  store: Store;
  reconciler: Reconciler;
  tokens: TokenCache;
  tools: ToolSet;
  versions: RunnerVersions;
  scaleSets: ScaleSetManager;
  netChecks: NetworkChecks;
  hostId: string;
}

/** What the API serves, read from the live config and parts at each request. */
export function apiDeps(w: ApiWiring, live: Live): ApiDeps {
  const { config } = live;
  const { reconciler, scaleSets } = w;
  return {
    listen: config.api.listen,
    socketPath: controlSocketPath(config.host.dataDir),
    ...(config.api.token ? { token: config.api.token } : {}),
    ...(config.api.webhookSecret ? { webhookSecret: config.api.webhookSecret } : {}),
    logger: w.logger, metrics: w.metrics, clock: w.clock,
    status: () => ({
      ...buildStatus({
        config: live.config, reconciler, store: w.store, tokens: w.tokens, tools: w.tools.installed, stats: live.gh.stats, version: VERSION,
        networkChecks: w.netChecks.results(), hostId: w.hostId,
        ...(w.versions.current === null && w.versions.error ? { runnerError: w.versions.error } : {}),
        toolErrors: w.tools.errors, scaleSets: scaleSets.statuses(), deregistering: live.deregistering,
      }),
      ...(live.lastReload ? { reload: live.lastReload } : {}),
    }),
    health: () => ({ ok: true, lastReconcileAt: reconciler.lastReconcileAt, intervalMs: live.config.reconcile.intervalMs }),
    onWorkflowJob: (e) => reconciler.onWorkflowJob(e),
    seenDelivery: deliveryLog(w.clock),
    seenJobEvent: deliveryLog(w.clock),
    drain: (req) => reconciler.drain(req.pool, { hold: true }),
    undrain: (req) => reconciler.undrain(req.pool),
    deregisterAll: () => {
      reconciler.drain();
      if (!live.deregistering) {
        live.deregistering = true;
        void deleteScaleSetsWhenDrained(reconciler, scaleSets, live.config, w.clock, w.logger);
      }
    },
  };
}
