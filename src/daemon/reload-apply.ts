import type { Backend, BackendKind } from '../backends/types.js';
import { createBackend } from '../backends/index.js';
import type { FleetConfig } from '../config/types.js';
import { describeError } from '../errors.js';
import type { GitHubClient } from '../github/client.js';
import { createHttp, type Http } from '../net/http.js';
import type { Live, Parts } from './parts.js';
import { configChanges, prepareReload, type ReloadOutcome } from './reload.js';

/** SIGHUP: apply a new, already validated config whole, or refuse it whole (keys that need a restart). */
export async function applyReload(p: Parts, live: Live, cfg: FleetConfig): Promise<ReloadOutcome> {
  const { logger, clock } = p;
  const { changed, restartRequired } = configChanges(live.config, cfg);
  const refuse = (error?: string): ReloadOutcome => {
    live.lastReload = { at: clock.now(), result: 'refused', changed, restartRequired, ...(error ? { error } : {}) };
    logger.error({ restartRequired, changed, ...(error ? { err: error } : {}) }, restartRequired.length
      ? `reload refused: ${restartRequired.join(', ')} need a restart; the running config stays`
      : 'reload refused: the running config stays');
    return live.lastReload;
  };
  if (restartRequired.length) return refuse();
  // Everything that can fail is built before anything is swapped: nothing half-applied.
  let next: { http?: Http; backends: [BackendKind, Backend][] };
  let nextGh: GitHubClient | undefined;
  try {
    // New credentials, a new client (its ETag cache and rate-limit state go with the old one).
    if (changed.includes('github.auth')) nextGh = p.newGitHub(cfg);
    next = await prepareReload(cfg, changed, p.backends, p.opts.backends !== undefined, (c) => createHttp({ network: c.network }), (k) => createBackend(k, cfg, logger, clock, p.opts.failpoint));
  } catch (err) {
    return refuse(describeError(err));
  }
  swap(p, live, cfg, changed, next, nextGh);
  live.lastReload = { at: clock.now(), result: 'applied', changed, restartRequired: [] };
  logger.info({ pools: cfg.pools.map((x) => x.name), changed }, 'config reloaded');
  return live.lastReload;
}

/** Nothing in here can fail: the new config, HTTP stack, client and backends take over together. */
function swap(p: Parts, live: Live, cfg: FleetConfig, changed: string[], next: { http?: Http; backends: [BackendKind, Backend][] }, nextGh: GitHubClient | undefined): void {
  const oldHttp = live.http;
  if (next.http) live.http = next.http;
  if (nextGh) live.gh = nextGh;
  if (next.http) void oldHttp.close().catch(() => undefined);
  for (const [kind, b] of next.backends) p.reconciler.addBackend(kind, b);
  // The server reads token and webhookSecret per request: a reload rotates them in place.
  if (cfg.api.token) p.apiDeps.token = cfg.api.token;
  else delete p.apiDeps.token;
  if (cfg.api.webhookSecret) p.apiDeps.webhookSecret = cfg.api.webhookSecret;
  else delete p.apiDeps.webhookSecret;
  if (changed.includes('tokens') || changed.includes('runner')) {
    for (const c of live.crons) c.stop();
    live.crons = p.schedule(cfg);
  }
  live.config = cfg;
  live.deregistering = false;
  p.scaleSets.reset();
  p.reconciler.updateConfig(cfg);
  if (changed.includes('tools')) void p.tools.install();
  if (changed.includes('runner')) void p.versions.refresh();
}
