import { createApiServer } from '../api/server.js';
import { createMetrics, type Metrics } from '../api/metrics.js';
import { createBackends } from '../backends/index.js';
import { systemClock } from '../clock.js';
import { hostArch } from '../config/names.js';
import type { FleetConfig } from '../config/types.js';
import { describeError } from '../errors.js';
import { createGitHubClient } from '../github/client.js';
import { TokenCache } from '../github/tokens.js';
import { createHttp } from '../net/http.js';
import { Reconciler } from '../reconcile/reconciler.js';
import { ScaleSetManager } from '../scaleset/manager.js';
import type { Store } from '../store/types.js';
import { createLaunchKit } from './launch.js';
import { NetworkChecks } from './netchecks.js';
import { RunnerVersions } from './versions.js';
import { ensureHostId } from '../reconcile/host-id.js';
import { forwarding, type ReloadOutcome } from './reload.js';
import { createLogArchive } from '../runner/log-archive.js';
import { readCapacity } from './capacity.js';
import { backendDisks, reconcileMetrics } from './reconcile-wiring.js';
import { ToolSet } from './tool-set.js';
import { apiDeps } from './api-wiring.js';
import { openDataDir } from './open.js';
import type { DaemonOptions, Live, Parts } from './parts.js';
import { applyReload } from './reload-apply.js';
import { stopDaemon } from './stop.js';
import { scheduleCron } from './schedule.js';

export type { DaemonOptions } from './parts.js';

export interface Daemon {
  readonly reconciler: Reconciler;
  readonly store: Store;
  readonly metrics: Metrics;
  readonly apiPort: number;
  /** Resolves when tools are installed and the runner version is cached (runners can start). */
  readonly ready: Promise<void>;
  /** Look for a newer runner version now (what runner.updateSchedule does). */
  checkRunnerVersion(): Promise<string | null>;
  /** Apply a new, already validated config whole, or refuse it whole (keys that need a restart). */
  reload(cfg: FleetConfig): Promise<ReloadOutcome>;
  /** Stop per shutdown.mode: drain (idle deregistered, busy finish up to drainTimeout) or keep. */
  shutdown(mode?: 'drain' | 'keep'): Promise<void>;
}

/** Wires every part together; nothing here decides anything on its own. */
export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const { logger } = opts;
  const clock = opts.clock ?? systemClock;
  const { lock, store } = openDataDir(opts.config, logger, clock);
  const metrics = createMetrics();
  const newGitHub = (cfg: FleetConfig) => createGitHubClient({
    apiUrl: cfg.github.apiUrl, auth: cfg.github.auth, logger, clock, fetch: (...a) => live.http.fetch(...a),
    onRequest: (r) => metrics.githubRequest(r.route, r.status),
  });
  // A reload may replace the HTTP stack (proxy, CA) and the GitHub client (credentials): the
  // parts built once reach them through `live` and forwarding objects.
  const live: Live = { config: opts.config, http: createHttp({ network: opts.config.network }), gh: undefined!, crons: [], deregistering: false };
  live.gh = newGitHub(live.config);
  const github = forwarding(() => live.gh.service);
  const tokens = new TokenCache({ service: github, store, clock, logger });
  const scaleSets = new ScaleSetManager({
    apiUrl: live.config.github.apiUrl, githubUrl: live.config.github.url, host: live.config.host.name, store, clock, logger,
    // Through `live`: a reload that changes the proxy or CA closes the old HTTP stack.
    fetch: (...a) => live.http.fetch(...a),
    registrationToken: (scope) => tokens.get(scope, 'registration'),
    onRequest: (r) => {
      live.gh.stats.record(r);
      metrics.githubRequest(r.route, r.status);
    },
    events: { changed: () => void reconciler.trigger(), job: (pool, job) => reconciler.onScaleSetJob(pool, job) },
    ...(opts.scaleSetListener ? { listener: opts.scaleSetListener } : {}),
  });
  metrics.scaleSetSource = () =>
    scaleSets.statuses().map((l) => ({ pool: l.pool, up: l.state === 'connected', lastPollAt: l.lastPollAt, assignedJobs: l.statistics?.totalAssignedJobs ?? 0 }));
  const backends = opts.backends ?? (await createBackends(live.config, logger, clock, opts.failpoint));
  const stopping = new AbortController();
  const tools = new ToolSet({ config: () => live.config, http: () => live.http, store, logger, clock, stopping: stopping.signal });
  const hostId = ensureHostId(store);

  const reconciler: Reconciler = new Reconciler({
    config: live.config, store, github, tokens, backends, clock, logger, arch: hostArch(), hostId,
    kit: createLaunchKit({ config: () => live.config, tools: () => tools.installed, logger }),
    metrics: reconcileMetrics(metrics, () => {
      for (const t of tokens.expiries()) metrics.setTokenExpiry(t.scopeKey, t.kind, t.expiresAt);
      const left = live.gh.stats.rateLimitRemaining();
      if (left !== null) metrics.setRateLimitRemaining(left);
    }),
    onVersionDeprecated: () => void versions.refresh(),
    ...(opts.failpoint ? { failpoint: opts.failpoint } : {}),
    ...(opts.exposureCheckIntervalMs !== undefined ? { exposureCheckIntervalMs: opts.exposureCheckIntervalMs } : {}),
    logArchive: createLogArchive({ dataDir: live.config.host.dataDir }),
    capacity: async () => readCapacity(reconciler.config, await backendDisks(backends)),
    ...(opts.offline ? {} : { scaleSets }),
    ...(opts.githubListIntervalMs !== undefined ? { githubListIntervalMs: opts.githubListIntervalMs } : {}),
  });
  const versions = new RunnerVersions({
    config: () => live.config, github, fetch: (...a) => live.http.fetch(...a), store, logger, clock,
    onChange: (v) => {
      reconciler.setTargetVersion(v);
      void reconciler.trigger();
    },
  });
  const netChecks = new NetworkChecks(() => live.config);
  const deps = apiDeps({ logger, clock, metrics, store, reconciler, tokens, tools, versions, scaleSets, netChecks, hostId }, live);
  const api = opts.offline ? undefined : createApiServer(deps);
  const port = api ? (await api.start()).port : 0;

  // Every scope's registration token stays valid (contract: tokens.refreshSchedule; status
  // reports its expiry): persistent pools never wait for, or use, an expired one.
  const refreshTokens = () => tokens.refreshDue(configuredScopes(live.config)).catch((err) => logger.warn({ err: describeError(err) }, 'token refresh failed'));
  // Offline (decommission) there is nothing to schedule: no token refresh, no version check.
  const schedule = (cfg: FleetConfig) => (opts.offline ? [] : [
    scheduleCron(cfg.tokens.refreshSchedule, () => void refreshTokens(), clock),
    scheduleCron(cfg.runner.updateSchedule, () => void versions.refresh(), clock),
  ]);
  live.crons = schedule(live.config);
  // Ready as soon as the API listens: adoption and cleanup start now; no runner is created
  // before the tools are installed and the runner version is downloaded and verified.
  if (opts.offline) reconciler.drain();
  reconciler.start();
  if (!opts.offline) netChecks.start();
  const warmup = opts.offline ? Promise.resolve() : (async () => {
    await tools.install();
    // Side by side: a persistent runner's first start shares the token fetch in flight.
    await Promise.all([refreshTokens(), versions.refresh()]);
  })();
  logger.info({ host: live.config.host.name, pools: live.config.pools.map((p) => p.name), port, ...(opts.offline ? { offline: true } : {}) }, 'runner-fleet daemon started');

  const parts: Parts = {
    opts, logger, clock, store, lock, metrics, reconciler, backends, tools, versions, scaleSets, netChecks,
    apiDeps: deps, api, warmup, stopping, newGitHub, schedule,
  };
  return {
    reconciler, store, metrics, apiPort: port, ready: warmup,
    checkRunnerVersion: () => versions.refresh(),
    reload: (cfg) => applyReload(parts, live, cfg),
    shutdown: (mode = live.config.shutdown.mode) => stopDaemon(parts, live, mode),
  };
}

function configuredScopes(cfg: FleetConfig) {
  return cfg.pools.map((p) => p.scope);
}
