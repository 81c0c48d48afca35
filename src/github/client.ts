import type { Octokit } from '@octokit/core';
import { systemClock, type Clock } from '../clock.js';
import type { GitHubAuth } from '../config/types.js';
import type { Logger } from '../log.js';
import { buildOctokit } from './octokit.js';
import { createRunnerService } from './service.js';
import type { RequestRecord, RequestCounter } from './stats.js';
import type { RunnerService } from './types.js';

export interface GitHubClientOptions {
  /** https://api.github.com, or GHES https://ghe.example.com/api/v3 */
  apiUrl: string;
  auth: GitHubAuth;
  logger: Logger;
  clock?: Clock;
  userAgent?: string;
  /** A fetch that honours the daemon's proxy and CA (net/http.ts); default global fetch. */
  fetch?: typeof fetch;
  /** Called after every HTTP attempt, retries included (metrics). */
  onRequest?: (r: RequestRecord) => void;
  /** Backoff base for 5xx/network retries: waits 1, 4, 9 × this. Default 1000. */
  retryBaseMs?: number;
  /** Average spacing of POST/DELETE requests once a burst is spent. Default 400. */
  writeIntervalMs?: number;
  /** Writes that may go out at once (a wave of JIT registrations). Default 10. */
  writeBurst?: number;
  /** Wait for a rate-limit reset at most this long; beyond it fail GITHUB_RATE_LIMITED. Default 15 min. */
  maxRateLimitWaitMs?: number;
  /** Retries of a 5xx/network failure. Default 3; doctor uses 0 (it reports, the daemon persists). */
  retries?: number;
}

export interface GitHubClient {
  service: RunnerService;
  /** RequestStats plus count(route, status?) for tests and metrics. */
  stats: RequestCounter;
  octokit: Octokit;
  /** Epoch ms until which requests are held for a rate limit; 0 when not limited. */
  rateLimitedUntil(): number;
}

export function createGitHubClient(opts: GitHubClientOptions): GitHubClient {
  const { octokit, stats, gate } = buildOctokit({
    apiUrl: opts.apiUrl,
    auth: opts.auth,
    logger: opts.logger,
    clock: opts.clock ?? systemClock,
    userAgent: opts.userAgent ?? 'runner-fleet',
    fetch: opts.fetch,
    onRequest: opts.onRequest,
    retryBaseMs: opts.retryBaseMs ?? 1000,
    writeIntervalMs: opts.writeIntervalMs ?? 400,
    writeBurst: opts.writeBurst ?? 10,
    maxRateLimitWaitMs: opts.maxRateLimitWaitMs ?? 15 * 60_000,
    retries: opts.retries ?? 3,
  });
  return { service: createRunnerService(octokit), stats, octokit, rateLimitedUntil: () => gate.until() };
}
