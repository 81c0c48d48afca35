import fs from 'node:fs';
import cron from 'node-cron';
import { createApiServer } from '../api/server.js';
import { controlSocketPath } from '../api/socket.js';
import { deliveryLog } from '../api/webhook.js';
import { createMetrics, type Metrics } from '../api/metrics.js';
import type { Backend, BackendKind } from '../backends/types.js';
import { createBackend, createBackends } from '../backends/index.js';
import { systemClock, type Clock } from '../clock.js';
import { hostArch } from '../config/names.js';
import type { FleetConfig } from '../config/types.js';
import { describeError } from '../errors.js';
import { createGitHubClient } from '../github/client.js';
import { TokenCache } from '../github/tokens.js';
import type { Logger } from '../log.js';
import { createHttp, type Http } from '../net/http.js';
import { Reconciler } from '../reconcile/reconciler.js';
import { ScaleSetManager, type ScaleSetManagerDeps } from '../scaleset/manager.js';
import { openStore } from '../store/index.js';
import { checkDataDirSafe, ensureDataDir } from '../store/files.js';
import { lockDataDir } from './data-lock.js';
import { sweepTemps } from '../runner/tmp.js';
import type { Store } from '../store/types.js';
import { createLaunchKit, dataDirModeFor } from './launch.js';
import { NetworkChecks } from './netchecks.js';
import { buildStatus } from './status.js';
import { RunnerVersions } from './versions.js';
import { VERSION } from '../version.js';
import type { Failpoint } from './failpoints.js';
import { ensureHostId } from '../reconcile/host-id.js';
import { configChanges, forwarding, prepareReload, type ReloadOutcome } from './reload.js';
import type { ApiDeps } from '../api/server.js';
import type { GitHubClient } from '../github/client.js';
import { createLogArchive } from '../runner/log-archive.js';
import { readCapacity } from './capacity.js';
import { deleteScaleSetsWhenDrained } from './deregister-all.js';
import { backendDisks, reconcileMetrics } from './reconcile-wiring.js';
import { ToolSet } from './tool-set.js';
import { SHUTDOWN_WAIT_MS, within } from './within.js';

export interface DaemonOptions {
  config: FleetConfig;
  logger: Logger;
  clock?: Clock;
  /** Override backends (tests). */
  backends?: Partial<Record<BackendKind, Backend>>;
  /** Reconcile GitHub list cadence (tests/bench). */
  githubListIntervalMs?: number;
  /** Crash tests: points between the two steps of an action (see daemon/failpoints.ts). */
  failpoint?: Failpoint;
  /** Public-repository / runner-group re-check cadence (tests). */
  exposureCheckIntervalMs?: number;
  /** Scale-set listener tuning (tests/bench): hold time the server uses, watchdog, backoffs. */
  scaleSetListener?: ScaleSetManagerDeps['listener'];
  /**
   * deregister --all with no daemon running (src/daemon/decommission.ts): every pool drained
   * from the first pass; no API, schedules, network checks, downloads or scale-set listeners.
   */
  offline?: boolean;
}

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
  let config = opts.config;
  const { logger } = opts;
  const clock = opts.clock ?? systemClock;
  const arch = hostArch();
  // Before anything is written or chmodded: never take over /etc, a symlink or another user's dir.
  checkDataDirSafe(config.host.dataDir);
  ensureDataDir(config.host.dataDir);
  // One daemon per data dir: a second one would fight the first over the database and runners.
  const lock = lockDataDir(config.host.dataDir);
  let store: Store;
  try {
    store = openStore(config.host.dataDir, { clock });
  } catch (err) {
    lock.release();
    throw err;
  }
  // What a crash left half-written (runner extraction, tool install) is never used; it goes now.
  const swept = sweepTemps(config.host.dataDir);
  if (swept.length) logger.info({ removed: swept }, 'removed leftovers of an interrupted download or install');
  // 0700, or 0711 (traverse only; state.db stays 0600) when runners run as another user.
  fs.chmodSync(config.host.dataDir, dataDirModeFor(config));
  // A reload may replace the HTTP stack (proxy, CA) and the GitHub client (credentials): the
  // parts built once reach them through forwarding objects.
  let http: Http = createHttp({ network: config.network });
  const fetchNow: typeof fetch = (...a) => http.fetch(...a);
  const metrics = createMetrics();
  const newGitHub = (cfg: FleetConfig) => createGitHubClient({
    apiUrl: cfg.github.apiUrl, auth: cfg.github.auth, logger, clock, fetch: fetchNow,
    onRequest: (r) => metrics.githubRequest(r.route, r.status),
  });
  let gh = newGitHub(config);
  const github = forwarding(() => gh.service);
  const stats = forwarding(() => gh.stats);
  const tokens = new TokenCache({ service: github, store, clock, logger });
  const hostId = ensureHostId(store);
  const scaleSets = new ScaleSetManager({
    apiUrl: config.github.apiUrl, githubUrl: config.github.url, host: config.host.name, store, clock, logger, fetch: http.fetch,
    registrationToken: (scope) => tokens.get(scope, 'registration'),
    onRequest: (r) => {
      stats.record(r);
      metrics.githubRequest(r.route, r.status);
    },
    events: { changed: () => void reconciler.trigger(), job: (pool, job) => reconciler.onScaleSetJob(pool, job) },
    ...(opts.scaleSetListener ? { listener: opts.scaleSetListener } : {}),
  });
  metrics.scaleSetSource = () =>
    scaleSets.statuses().map((l) => ({ pool: l.pool, up: l.state === 'connected', lastPollAt: l.lastPollAt, assignedJobs: l.statistics?.totalAssignedJobs ?? 0 }));
  const backends = opts.backends ?? (await createBackends(config, logger, clock, opts.failpoint));
  const stopping = new AbortController();
  const tools = new ToolSet({ config: () => config, http: () => http, store, logger, clock, stopping: stopping.signal });
  const kit = createLaunchKit({ config: () => config, tools: () => tools.installed, logger });

  const reconciler: Reconciler = new Reconciler({
    config, store, github, tokens, backends, kit, clock, logger, arch, metrics: reconcileMetrics(metrics, () => {
      for (const t of tokens.expiries()) metrics.setTokenExpiry(t.scopeKey, t.kind, t.expiresAt);
      const left = gh.stats.rateLimitRemaining();
      if (left !== null) metrics.setRateLimitRemaining(left);
    }),
    onVersionDeprecated: () => void versions.refresh(),
    ...(opts.failpoint ? { failpoint: opts.failpoint } : {}),
    ...(opts.exposureCheckIntervalMs !== undefined ? { exposureCheckIntervalMs: opts.exposureCheckIntervalMs } : {}),
    hostId,
    logArchive: createLogArchive({ dataDir: config.host.dataDir }),
    capacity: async () => readCapacity(reconciler.config, await backendDisks(backends)),
    ...(opts.offline ? {} : { scaleSets }),
    ...(opts.githubListIntervalMs !== undefined ? { githubListIntervalMs: opts.githubListIntervalMs } : {}),
  });
  const versions = new RunnerVersions({
    config: () => config, github, fetch: fetchNow, store, logger, clock,
    onChange: (v) => {
      reconciler.setTargetVersion(v);
      void reconciler.trigger();
    },
  });

  let deregistering = false;
  const netChecks = new NetworkChecks(() => config);
  let lastReload: ReloadOutcome | undefined;
  // The server reads token and webhookSecret per request: a reload rotates them in place.
  const apiDeps: ApiDeps = {
    listen: config.api.listen,
    socketPath: controlSocketPath(config.host.dataDir),
    ...(config.api.token ? { token: config.api.token } : {}),
    ...(config.api.webhookSecret ? { webhookSecret: config.api.webhookSecret } : {}),
    logger, metrics, clock,
    status: () => ({
      ...buildStatus({
        config, reconciler, store, tokens, tools: tools.installed, stats, version: VERSION, networkChecks: netChecks.results(), hostId,
        ...(versions.current === null && versions.error ? { runnerError: versions.error } : {}),
        toolErrors: tools.errors, scaleSets: scaleSets.statuses(), deregistering,
      }),
      ...(lastReload ? { reload: lastReload } : {}),
    }),
    health: () => ({ ok: true, lastReconcileAt: reconciler.lastReconcileAt, intervalMs: config.reconcile.intervalMs }),
    onWorkflowJob: (e) => reconciler.onWorkflowJob(e),
    seenDelivery: deliveryLog(clock),
    seenJobEvent: deliveryLog(clock),
    drain: (req) => reconciler.drain(req.pool, { hold: true }),
    undrain: (req) => reconciler.undrain(req.pool),
    deregisterAll: () => {
      reconciler.drain();
      if (!deregistering) {
        deregistering = true;
        void deleteScaleSetsWhenDrained(reconciler, scaleSets, config, clock, logger);
      }
    },
  };
  const api = opts.offline ? undefined : createApiServer(apiDeps);
  const port = api ? (await api.start()).port : 0;

  // Persistent pools must never wait for (or use) an expired token.
  const refreshTokens = () => tokens.refreshDue(persistentScopes(config)).catch((err) => logger.warn({ err: describeError(err) }, 'token refresh failed'));
  const schedule = (cfg: FleetConfig) => [
    cron.schedule(cfg.tokens.refreshSchedule, () => void refreshTokens()),
    cron.schedule(cfg.runner.updateSchedule, () => void versions.refresh()),
  ];
  let crons = opts.offline ? [] : schedule(config);
  // Ready as soon as the API listens: adoption and cleanup start now; no runner is created
  // before the tools are installed and the runner version is downloaded and verified.
  if (opts.offline) reconciler.drain();
  reconciler.start();
  if (!opts.offline) netChecks.start();
  const warmup = opts.offline ? Promise.resolve() : (async () => {
    await tools.install();
    await refreshTokens();
    await versions.refresh();
  })();
  logger.info({ host: config.host.name, pools: config.pools.map((p) => p.name), port }, 'runner-fleet daemon started');

  return {
    reconciler, store, metrics, apiPort: port, ready: warmup,
    checkRunnerVersion: () => versions.refresh(),
    async reload(cfg) {
      const { changed, restartRequired } = configChanges(config, cfg);
      const refuse = (error?: string): ReloadOutcome => {
        lastReload = { at: clock.now(), result: 'refused', changed, restartRequired, ...(error ? { error } : {}) };
        logger.error({ restartRequired, changed, ...(error ? { err: error } : {}) }, restartRequired.length
          ? `reload refused: ${restartRequired.join(', ')} need a restart; the running config stays`
          : 'reload refused: the running config stays');
        return lastReload;
      };
      if (restartRequired.length) return refuse();
      // Everything that can fail is built before anything is swapped: nothing half-applied.
      let next: { http?: Http; backends: [BackendKind, Backend][] };
      let nextGh: GitHubClient | undefined;
      try {
        // New credentials, a new client (its ETag cache and rate-limit state go with the old one).
        if (changed.includes('github.auth')) nextGh = newGitHub(cfg);
        next = await prepareReload(cfg, changed, backends, opts.backends !== undefined, (c) => createHttp({ network: c.network }), (k) => createBackend(k, cfg, logger, clock, opts.failpoint));
      } catch (err) {
        return refuse(describeError(err));
      }
      const oldHttp = http;
      if (next.http) http = next.http;
      if (nextGh) gh = nextGh;
      if (next.http) void oldHttp.close().catch(() => undefined);
      for (const [kind, b] of next.backends) reconciler.addBackend(kind, b);
      if (cfg.api.token) apiDeps.token = cfg.api.token;
      else delete apiDeps.token;
      if (cfg.api.webhookSecret) apiDeps.webhookSecret = cfg.api.webhookSecret;
      else delete apiDeps.webhookSecret;
      if (changed.includes('tokens') || changed.includes('runner')) {
        for (const c of crons) void c.stop();
        crons = schedule(cfg);
      }
      config = cfg;
      deregistering = false;
      scaleSets.reset();
      reconciler.updateConfig(cfg);
      if (changed.includes('tools')) void tools.install();
      if (changed.includes('runner')) void versions.refresh();
      lastReload = { at: clock.now(), result: 'applied', changed, restartRequired: [] };
      logger.info({ pools: cfg.pools.map((p) => p.name), changed }, 'config reloaded');
      return lastReload;
    },
    async shutdown(mode = config.shutdown.mode) {
      for (const c of crons) void c.stop();
      netChecks.stop();
      versions.stop();
      stopping.abort();
      // Downloads and token calls that cannot matter any more are not waited for (GitHub may be
      // unreachable: retries and timeouts would hold the stop for a minute or more).
      await within(warmup.catch(() => undefined), SHUTDOWN_WAIT_MS, () => logger.warn('shutdown: not waiting for tool/runner downloads still in flight'));
      if (mode === 'drain') {
        const done = await reconciler.drainAndWait(config.shutdown.drainTimeoutMs);
        if (!done) logger.warn('drain timeout: busy runners keep running their jobs and will be adopted at the next start');
      }
      await within(reconciler.stop(), SHUTDOWN_WAIT_MS, () => logger.warn('shutdown: not waiting for a reconcile pass stuck on the network'));
      // Sessions are deleted so the next start gets one at once; the scale sets stay (assigned jobs are kept).
      await within(scaleSets.stop(), SHUTDOWN_WAIT_MS, () => logger.warn('shutdown: not waiting for scale-set sessions to close'));
      await api?.close();
      for (const b of Object.values(backends)) await b?.close?.();
      // destroy, not close: close would wait for requests to a host that does not answer.
      await http.dispatcher.destroy().catch(() => undefined);
      store.close();
      lock.release();
      logger.info({ mode }, 'runner-fleet daemon stopped');
    },
  };
}

function persistentScopes(cfg: FleetConfig) {
  return cfg.pools.filter((p) => !p.ephemeral).map((p) => p.scope);
}

