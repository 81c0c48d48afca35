import { FleetError, isFleetError, type ErrorCode } from '../errors.js';

interface HttpErrorLike {
  status?: number;
  message?: string;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

export function httpStatus(err: unknown): number | undefined {
  const s = (err as HttpErrorLike | null)?.status;
  return typeof s === 'number' ? s : undefined;
}

/** A 403/429 that is a primary or secondary rate limit, not a permission problem. */
export function isRateLimitError(err: unknown): boolean {
  const e = err as HttpErrorLike;
  if (e?.status === 429) return true;
  if (e?.status !== 403) return false;
  const h = e.response?.headers ?? {};
  return String(h['x-ratelimit-remaining']) === '0' || h['retry-after'] !== undefined || /rate limit/i.test(e.message ?? '');
}

function codeFor(err: unknown): ErrorCode {
  const status = httpStatus(err);
  if (isRateLimitError(err)) return 'GITHUB_RATE_LIMITED';
  if (status === 401 || status === 403) return 'GITHUB_AUTH';
  if (status === 404) return 'GITHUB_NOT_FOUND';
  if (status === 409) return 'GITHUB_CONFLICT';
  return 'GITHUB_REQUEST';
}

/**
 * Translates an octokit error into a FleetError. The message names the route and status and
 * GitHub's own message; it never carries headers (octokit already masks authorization in the
 * cause's request copy).
 */
export function toFleetError(err: unknown, what: string): FleetError {
  if (isFleetError(err)) return err;
  const status = httpStatus(err);
  const msg = (err as HttpErrorLike | null)?.message ?? String(err);
  const detail = status === undefined ? msg : `HTTP ${status}: ${msg}`;
  return new FleetError(codeFor(err), `${what} failed: ${detail}`, { cause: err });
}
