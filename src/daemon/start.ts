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
import { backoffMs } from '../reconcile/exits.js';
import type { ReconcileMetrics } from '../reconcile/kit.js';
import { openStore } from '../store/index.js';
import { checkDataDirSafe } from '../store/files.js';
import { sweepTemps } from '../runner/tmp.js';
import type { Store } from '../store/types.js';
import { installTools, verifyInstalledTools } from '../tools/install.js';
import type { InstalledTool } from '../tools/types.js';
import { createLaunchKit, dataDirModeFor } from './launch.js';
import { NetworkChecks } from './netchecks.js';
import { buildStatus } from './status.js';
import { RunnerVersions } from './versions.js';
import { VERSION } from '../version.js';
import { createLogArchive } from '../runner/log-archive.js';
import { readCapacity } from './capacity.js';

export interface DaemonOptions {
  config: FleetConfig;
  logger: Logger;
  clock?: Clock;
  /** Override backends (tests). */
  backends?: Partial<Record<BackendKind, Backend>>;
  /** Reconcile GitHub list cadence (tests/bench). */
  githubListIntervalMs?: number;
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
  const store = openStore(config.host.dataDir, { clock });
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
    logArchive: createLogArchive({ dataDir: config.host.dataDir }),
    capacity: async () => readCapacity(reconciler.config, await backendDisks(backends)),
    ...(opts.githubListIntervalMs !== undefined ? { githubListIntervalMs: opts.githubListIntervalMs } : {}),
  });
  const versions = new RunnerVersions({
    config: () => config, github: gh.service, fetch: http.fetch, store, logger, clock,
    onChange: (v) => {
      reconciler.setTargetVersion(v);
      void reconciler.trigger();
    },
  });

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
      toolErrors,
    }),
    health: () => ({ ok: true, lastReconcileAt: reconciler.lastReconcileAt, intervalMs: config.reconcile.intervalMs }),
    onWorkflowJob: (e) => reconciler.onWorkflowJob(e),
    seenDelivery: deliveryLog(clock),
    drain: (req) => reconciler.drain(req.pool),
    deregisterAll: () => reconciler.drain(),
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
      reconciler.updateConfig(cfg);
      logger.info({ pools: cfg.pools.map((p) => p.name) }, 'config reloaded');
    },
    async shutdown(mode = config.shutdown.mode) {
      for (const c of crons) void c.stop();
      netChecks.stop();
      versions.stop();
      stopping.abort();
      await warmup;
      if (mode === 'drain') {
        const done = await reconciler.drainAndWait(config.shutdown.drainTimeoutMs);
        if (!done) logger.warn('drain timeout: busy runners keep running their jobs and will be adopted at the next start');
      }
      await reconciler.stop();
      await api.close();
      for (const b of Object.values(backends)) await b?.close?.();
      await http.close();
      store.close();
      logger.info({ mode }, 'runner-fleet daemon stopped');
    },
  };
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

/** Directories the engines fill besides the data dir (Docker's data root). */
async function backendDisks(backends: Partial<Record<BackendKind, Backend>>): Promise<{ path: string; backend: BackendKind }[]> {
  const out: { path: string; backend: BackendKind }[] = [];
  for (const b of Object.values(backends)) {
    const root = await b?.dataRoot?.();
    if (b && root) out.push({ path: root, backend: b.kind });
  }
  return out;
}

/** The reconciler reports events; the Prometheus side decides units and names. */
function reconcileMetrics(m: Metrics, everyPass: () => void): ReconcileMetrics {
  return {
    reconcileDuration: (s) => m.observeReconcile(s * 1000),
    scaleUpLatency: (pool, backend, s) => m.observeScaleUp(pool, backend, s * 1000),
    runnerRestart: (pool, code) => m.runnerRestarted(pool, code),
    runnerExit: (pool, cause) => m.runnerExited(pool, cause),
    job: (pool, conclusion) => m.jobCompleted(pool, conclusion),
    runners: (counts) => {
      m.setRunnerCounts(counts);
      everyPass();
    },
    poolHealthy: (pool, ok) => m.setPoolHealthy(pool, ok),
    pools: (pools) => m.setPools(pools),
    capacity: (figures, pools) => m.setHostCapacity(figures, pools),
    diskFreed: (pool, what, bytes) => m.diskFreedBytes(pool, what, bytes),
  };
}
