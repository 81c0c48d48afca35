import { randomUUID } from 'node:crypto';
import { Octokit } from '@octokit/core';
import { throttling } from '@octokit/plugin-throttling';
import { retry } from '@octokit/plugin-retry';
import type { createAppAuth } from '@octokit/auth-app';
import type { Clock } from '../clock.js';
import type { GitHubAuth } from '../config/types.js';
import type { Logger } from '../log.js';
import { appTokenCache } from './app-cache.js';
import { RateGate } from './rate-gate.js';
import { RequestCounter, templatedRoute, type RequestRecord } from './stats.js';

export interface OctokitDeps {
  apiUrl: string;
  auth: GitHubAuth;
  logger: Logger;
  clock: Clock;
  userAgent: string;
  fetch?: typeof fetch;
  onRequest?: (r: RequestRecord) => void;
  /** Base of plugin-retry's quadratic backoff for 5xx/network errors (1, 4, 9 × base). */
  retryBaseMs: number;
  /** Spacing between mutating requests (GitHub asks integrators not to burst writes). */
  writeIntervalMs: number;
  writeBurst: number;
  /** A rate limit that resets later than this fails with GITHUB_RATE_LIMITED instead of waiting. */
  maxRateLimitWaitMs: number;
  retries: number;
}

interface HookOptions {
  method: string;
  url: string;
  baseUrl?: string;
}
interface HttpAnswer {
  status: number;
  headers: Record<string, string | number | undefined>;
}
type RequestFn = (options: HookOptions) => Promise<HttpAnswer>;
type AccountingHook = (request: RequestFn, options: HookOptions) => Promise<HttpAnswer>;

/**
 * Plugin order matters: the accounting hook is registered first, so it sits innermost (just
 * outside auth) and sees every attempt the throttling and retry plugins make, each with its
 * route template. It also holds requests while a rate limit lasts, so retries never go out hot.
 */
export function buildOctokit(deps: OctokitDeps): { octokit: Octokit; stats: RequestCounter; gate: RateGate } {
  const stats = new RequestCounter();
  const gate = new RateGate(deps.clock, deps.maxRateLimitWaitMs);
  const record = (r: RequestRecord, remaining?: string | number) => {
    stats.record(r, remaining);
    deps.onRequest?.(r);
    deps.logger.debug({ method: r.method, route: r.route, status: r.status, ms: r.durationMs }, 'github request');
  };

  const hook: AccountingHook = async (request, options) => {
    const method = options.method.toUpperCase();
    const route = templatedRoute(options.url, options.baseUrl);
    await gate.wait();
    const t0 = performance.now();
    try {
      const res = await request(options);
      record({ method, route, status: res.status, durationMs: performance.now() - t0 }, res.headers['x-ratelimit-remaining']);
      return res;
    } catch (err) {
      const res = (err as { response?: HttpAnswer }).response;
      record({ method, route, status: res?.status ?? 0, durationMs: performance.now() - t0 }, res?.headers['x-ratelimit-remaining']);
      if (res) gate.observe(res.status, res.headers, (err as Error).message);
      throw err;
    }
  };
  // auth-app's installation-token requests also pass through here (its request carries the hook).
  const accounting = (octokit: Pick<Octokit, 'hook'>) => {
    octokit.hook.wrap('request', hook as never);
  };

  const FleetOctokit = Octokit.plugin(accounting, throttling, retry);
  const limitHandler = (kind: string) => (_retryAfter: number, options: { method?: string; url?: string }, _o: unknown, retryCount: number) => {
    const waitMs = gate.remainingMs();
    const retrying = retryCount < 3 && waitMs <= deps.maxRateLimitWaitMs;
    deps.logger.warn({ route: `${options.method} ${options.url}`, waitMs, retrying }, `github ${kind} rate limit`);
    return retrying;
  };

  const octokit = new FleetOctokit({
    baseUrl: deps.apiUrl.replace(/\/+$/, ''),
    userAgent: deps.userAgent,
    ...(deps.fetch ? { request: { fetch: deps.fetch } } : {}),
    log: octokitLog(deps.logger),
    ...authOptions(deps),
    throttle: {
      // Bottleneck groups limiters by id: each client gets its own, with no counter shared between them.
      id: `runner-fleet-${randomUUID()}`,
      // Waiting happens in the gate on the injected clock, so the plugin itself retries at once.
      retryAfterBaseValue: 0,
      write: spacedWrites(deps.writeIntervalMs, deps.writeBurst) as never,
      onRateLimit: limitHandler('primary'),
      onSecondaryRateLimit: limitHandler('secondary'),
    },
    retry: {
      retryAfterBaseValue: deps.retryBaseMs,
      retries: deps.retries,
      // 403/429 belong to throttling; 409/422 are answers, not glitches.
      doNotRetry: [400, 401, 403, 404, 409, 410, 422, 429, 451],
    },
  });
  return { octokit, stats, gate };
}

function authOptions(deps: OctokitDeps): Record<string, unknown> {
  if (deps.auth.kind === 'token') return { auth: deps.auth.token };
  return {
    authStrategy: lazyAppAuth,
    auth: {
      appId: deps.auth.appId,
      privateKey: deps.auth.privateKey,
      installationId: deps.auth.installationId,
      // auth-app's own cache keeps tokens 59 min by wall time; ours renews by the token's
      // expires_at on the injected clock, 5 minutes ahead.
      cache: appTokenCache(deps.clock, 5 * 60_000),
    },
  };
}

/** Strings only: octokit would otherwise hand pino whole error objects with request copies. */
function octokitLog(logger: Logger) {
  const text = (args: unknown[]) => args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : '')).join(' ');
  return {
    debug: () => {},
    info: (...a: unknown[]) => logger.debug(text(a)),
    warn: (...a: unknown[]) => logger.warn(text(a)),
    error: (...a: unknown[]) => logger.debug(text(a)),
  };
}

/** Stands in for the throttling plugin's Bottleneck write group: start writes ≥ intervalMs apart. */
/**
 * Writes (POST/DELETE) paced like a token bucket (GCRA): a burst of up to `burst` goes out at
 * once — a wave of queued jobs registers its runners together — and sustained writes average one
 * per `intervalMs`, well inside GitHub's secondary limits (writes cost 5 of 900 points a minute).
 */
function spacedWrites(intervalMs: number, burst: number) {
  let tat = 0; // theoretical arrival time of the next write
  const limiter = {
    async schedule(opts: { weight?: number }, fn: () => Promise<unknown>) {
      if (intervalMs > 0 && opts?.weight !== 0) {
        const now = Date.now();
        tat = Math.max(tat, now);
        const waitMs = tat - (burst - 1) * intervalMs - now;
        tat += intervalMs;
        if (waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
      }
      return fn();
    },
  };
  return { key: () => limiter };
}

type AppAuth = ReturnType<typeof createAppAuth>;

/**
 * createAppAuth, imported at the first request: @octokit/auth-app and its OAuth dependencies
 * are ~3 MB of heap a token-authenticated daemon never needs. Octokit calls the strategy
 * synchronously; what it gets back forwards to the real one once loaded.
 */
function lazyAppAuth(options: Parameters<typeof createAppAuth>[0]): AppAuth {
  let real: Promise<AppAuth> | undefined;
  const load = () => (real ??= import('@octokit/auth-app').then((m) => m.createAppAuth(options)));
  const auth = (async (...args: Parameters<AppAuth>) => (await load())(...args)) as AppAuth;
  auth.hook = (async (...args: Parameters<AppAuth['hook']>) => (await load()).hook(...args)) as AppAuth['hook'];
  return auth;
}
