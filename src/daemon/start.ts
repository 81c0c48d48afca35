import fs from 'node:fs';
import cron from 'node-cron';
import { createApiServer } from '../api/server.js';
import { controlSocketPath } from '../api/socket.js';
import { deliveryLog } from '../api/webhook.js';
import { createMetrics, type Metrics } from '../api/metrics.js';
import type { Backend, BackendKind } from '../backends/types.js';
import { createBackends } from '../backends/index.js';
import { systemClock, type Clock } from '../clock.js';
import { hostArch } from '../config/names.js';
import type { FleetConfig } from '../config/types.js';
import { FleetError, describeError } from '../errors.js';
import { createGitHubClient } from '../github/client.js';
import { TokenCache } from '../github/tokens.js';
import type { Logger } from '../log.js';
import { createHttp, type Http } from '../net/http.js';
import { Reconciler } from '../reconcile/reconciler.js';
import { ScaleSetManager, type ScaleSetManagerDeps } from '../scaleset/manager.js';
import { viaScaleSet } from '../reconcile/states.js';
import { backoffMs } from '../reconcile/exits.js';
import type { ReconcileMetrics } from '../reconcile/kit.js';
import { openStore } from '../store/index.js';
import { checkDataDirSafe, ensureDataDir } from '../store/files.js';
import { lockDataDir } from './data-lock.js';
import { sweepTemps } from '../runner/tmp.js';
import type { Store } from '../store/types.js';
import { installTools, verifyInstalledTools } from '../tools/install.js';
import type { InstalledTool } from '../tools/types.js';
import { createLaunchKit, dataDirModeFor } from './launch.js';
import { NetworkChecks } from './netchecks.js';
import { buildStatus } from './status.js';
import { RunnerVersions } from './versions.js';
import { VERSION } from '../version.js';

export interface DaemonOptions {
  config: FleetConfig;
  logger: Logger;
  clock?: Clock;
  /** Override backends (tests). */
  backends?: Partial<Record<BackendKind, Backend>>;
  /** Reconcile GitHub list cadence (tests/bench). */
  githubListIntervalMs?: number;
  /** Scale-set listener tuning (tests/bench): hold time the server uses, watchdog, backoffs. */
  scaleSetListener?: ScaleSetManagerDeps['listener'];
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
  /** Apply a new, already validated config. */
  reload(cfg: FleetConfig): void;
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
  const http: Http = createHttp({ network: config.network });
  const metrics = createMetrics();
  const gh = createGitHubClient({
    apiUrl: config.github.apiUrl, auth: config.github.auth, logger, clock, fetch: http.fetch,
    onRequest: (r) => metrics.githubRequest(r.route, r.status),
  });
  const tokens = new TokenCache({ service: gh.service, store, clock, logger });
  const scaleSets = new ScaleSetManager({
    apiUrl: config.github.apiUrl, githubUrl: config.github.url, host: config.host.name, store, clock, logger, fetch: http.fetch,
    registrationToken: (scope) => tokens.get(scope, 'registration'),
    onRequest: (r) => {
      gh.stats.record(r);
      metrics.githubRequest(r.route, r.status);
    },
    events: { changed: () => void reconciler.trigger(), job: (pool, job) => reconciler.onScaleSetJob(pool, job) },
    ...(opts.scaleSetListener ? { listener: opts.scaleSetListener } : {}),
  });
  metrics.scaleSetSource = () =>
    scaleSets.statuses().map((l) => ({ pool: l.pool, up: l.state === 'connected', lastPollAt: l.lastPollAt, assignedJobs: l.statistics?.totalAssignedJobs ?? 0 }));
  const backends = opts.backends ?? (await createBackends(config, logger, clock));
  let tools: InstalledTool[] = [];
  let toolErrors: ToolError[] = [];
  const stopping = new AbortController();
  /** A tool that failed (DISK_FULL, a mirror down) is retried with backoff; status says why meanwhile. */
  const installToolsWithRetry = async (failures = 0): Promise<void> => {
    const r = await prepareTools(config, http, store, logger);
    tools = r.installed;
    toolErrors = r.failed;
    if (r.failed.length === 0) return;
    const retryMs = backoffMs(failures + 1);
    logger.warn({ tools: r.failed.map((f) => `${f.name}@${f.version}`), retryMs }, 'tools not installed; retrying');
    clock.sleep(retryMs, stopping.signal).then(() => installToolsWithRetry(failures + 1), () => undefined);
  };
  const kit = createLaunchKit({ config: () => config, tools: () => tools, logger });

  const reconciler: Reconciler = new Reconciler({
    config, store, github: gh.service, tokens, backends, kit, clock, logger, arch, metrics: reconcileMetrics(metrics, () => {
      for (const t of tokens.expiries()) metrics.setTokenExpiry(t.scopeKey, t.kind, t.expiresAt);
      const left = gh.stats.rateLimitRemaining();
      if (left !== null) metrics.setRateLimitRemaining(left);
    }),
    onVersionDeprecated: () => void versions.refresh(),
    scaleSets,
    ...(opts.githubListIntervalMs !== undefined ? { githubListIntervalMs: opts.githubListIntervalMs } : {}),
  });
  const versions = new RunnerVersions({
    config: () => config, github: gh.service, fetch: http.fetch, store, logger, clock,
    onChange: (v) => {
      reconciler.setTargetVersion(v);
      void reconciler.trigger();
    },
  });

  let deregistering = false;
  const netChecks = new NetworkChecks(() => config);
  const api = createApiServer({
    listen: config.api.listen,
    socketPath: controlSocketPath(config.host.dataDir),
    ...(config.api.token ? { token: config.api.token } : {}),
    ...(config.api.webhookSecret ? { webhookSecret: config.api.webhookSecret } : {}),
    logger, metrics, clock,
    status: () => buildStatus({
      config, reconciler, store, tokens, tools, stats: gh.stats, version: VERSION, networkChecks: netChecks.results(),
      ...(versions.current === null && versions.error ? { runnerError: versions.error } : {}),
      toolErrors, scaleSets: scaleSets.statuses(), deregistering,
    }),
    health: () => ({ ok: true, lastReconcileAt: reconciler.lastReconcileAt, intervalMs: config.reconcile.intervalMs }),
    onWorkflowJob: (e) => reconciler.onWorkflowJob(e),
    seenDelivery: deliveryLog(clock),
    drain: (req) => reconciler.drain(req.pool, { hold: true }),
    undrain: (req) => reconciler.undrain(req.pool),
    deregisterAll: () => {
      reconciler.drain();
      if (!deregistering) {
        deregistering = true;
        void deleteScaleSetsWhenDrained(reconciler, scaleSets, config, clock, logger);
      }
    },
  });
  const { port } = await api.start();

  // Persistent pools must never wait for (or use) an expired token.
  const refreshTokens = () => tokens.refreshDue(persistentScopes(config)).catch((err) => logger.warn({ err: describeError(err) }, 'token refresh failed'));
  const crons = [
    cron.schedule(config.tokens.refreshSchedule, () => void refreshTokens()),
    cron.schedule(config.runner.updateSchedule, () => void versions.refresh()),
  ];
  // Ready as soon as the API listens: adoption and cleanup start now; no runner is created
  // before the tools are installed and the runner version is downloaded and verified.
  reconciler.start();
  netChecks.start();
  const warmup = (async () => {
    await installToolsWithRetry();
    await refreshTokens();
    await versions.refresh();
  })();
  logger.info({ host: config.host.name, pools: config.pools.map((p) => p.name), port }, 'runner-fleet daemon started');

  return {
    reconciler, store, metrics, apiPort: port, ready: warmup,
    checkRunnerVersion: () => versions.refresh(),
    reload(cfg) {
      config = cfg;
      deregistering = false;
      scaleSets.reset();
      reconciler.updateConfig(cfg);
      logger.info({ pools: cfg.pools.map((p) => p.name) }, 'config reloaded');
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
      await api.close();
      for (const b of Object.values(backends)) await b?.close?.();
      // destroy, not close: close would wait for requests to a host that does not answer.
      await http.dispatcher.destroy().catch(() => undefined);
      store.close();
      lock.release();
      logger.info({ mode }, 'runner-fleet daemon stopped');
    },
  };
}

/** How long a stop waits for in-flight network work before leaving it behind. */
const SHUTDOWN_WAIT_MS = 3000;

async function within(p: Promise<unknown>, ms: number, onTimeout: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), ms)));
  const res = await Promise.race([p.then(() => 'done' as const), late]);
  clearTimeout(timer);
  if (res === 'late') onTimeout();
}

/**
 * Re-hash what is installed (tampering is reported and repaired, missing tools installed), then
 * apply the config's pins (a changed sha256 is a new artifact). A tool that fails (e.g.
 * CHECKSUM_MISMATCH, logged) stays off PATH alone: runners still start with the others, jobs
 * that need it fail visibly, and doctor says why.
 */
async function prepareTools(cfg: FleetConfig, http: Http, store: Store, logger: Logger): Promise<{ installed: InstalledTool[]; failed: ToolError[] }> {
  if (cfg.tools.length === 0) return { installed: [], failed: [] };
  const opts = { fetch: http.fetch, store, logger };
  const verified = await verifyInstalledTools({ ...opts, cfg });
  const failedIds = new Map(verified.failed.map((f) => [f.tool, f]));
  const installed: InstalledTool[] = [];
  const failed: ToolError[] = [];
  for (const tool of cfg.tools) {
    const f = failedIds.get(`${tool.name}@${tool.version}`);
    if (f) {
      failed.push({ name: tool.name, version: tool.version, code: f.code, message: f.error });
      continue;
    }
    // installTools logs its own failure.
    // Only the pin check and the store record are left: verify has just hashed what is installed.
    try {
      installed.push(...(await installTools({ ...opts, cfg: { host: cfg.host, tools: [tool] }, verified: verified.tools })));
    } catch (err) {
      failed.push({ name: tool.name, version: tool.version, code: err instanceof FleetError ? err.code : 'TOOL_INSTALL', message: describeError(err) });
    }
  }
  return { installed, failed };
}

interface ToolError {
  name: string;
  version: string;
  code: string;
  message: string;
}

function persistentScopes(cfg: FleetConfig) {
  return cfg.pools.filter((p) => !p.ephemeral).map((p) => p.scope);
}

/**
 * deregister --all: once the scale-set pools have no runners left, delete their scale sets so
 * GitHub routes nothing more to this host (a host being decommissioned).
 */
async function deleteScaleSetsWhenDrained(reconciler: Reconciler, scaleSets: ScaleSetManager, cfg: FleetConfig, clock: Clock, logger: Logger): Promise<void> {
  const pools = cfg.pools.filter(viaScaleSet).map((p) => p.name);
  while (pools.some((p) => reconciler.liveCount(p) > 0)) await clock.sleep(500);
  const deleted = await scaleSets.deleteScaleSets();
  logger.info({ scaleSets: deleted }, 'deregister --all: scale sets deleted');
}

/** The reconciler reports events; the Prometheus side decides units and names. */
function reconcileMetrics(m: Metrics, everyPass: () => void): ReconcileMetrics {
  return {
    reconcileDuration: (s) => m.observeReconcile(s * 1000),
    scaleUpLatency: (pool, backend, s) => m.observeScaleUp(pool, backend, s * 1000),
    runnerRestart: (pool, code) => m.runnerRestarted(pool, code),
    job: (pool, conclusion) => m.jobCompleted(pool, conclusion),
    runners: (counts) => {
      m.setRunnerCounts(counts);
      everyPass();
    },
    poolHealthy: (pool, ok) => m.setPoolHealthy(pool, ok),
  };
}
