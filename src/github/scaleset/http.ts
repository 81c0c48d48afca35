import type { Clock } from '../../clock.js';
import { FleetError, type ErrorCode } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { RequestRecord } from '../stats.js';

/** The Actions service API version every scale-set call names. */
export const API_VERSION = '6.0-preview';

export interface ActionsHttp {
  /** The daemon's fetch (proxy, CA): the same one the REST client uses. */
  fetch: typeof fetch;
  clock: Clock;
  logger: Logger;
  userAgent: string;
  /** Backoff base for 5xx/network retries: waits 1, 4, 9 × this. */
  retryBaseMs: number;
  retries: number;
  /** Every attempt, counted with service 'actions' (not REST rate limit). */
  record?: (r: RequestRecord) => void;
}

export interface ActionsRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  /** Templated route for stats: /_apis/runtime/runnerscalesets/{id}/sessions */
  route: string;
  authorization: string;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Long polls are retried by their loop, not here. */
  retry?: boolean;
}

export interface ActionsAnswer {
  status: number;
  text: string;
}

/** An HTTP answer the Actions service gave that was not the expected one; the FleetError's cause. */
export class ActionsServiceError extends Error {
  constructor(
    readonly status: number,
    /** Service exception name, e.g. AgentExistsException, JobStillRunningException. */
    readonly typeName: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'ActionsServiceError';
  }
}

/** The HTTP status behind a scale-set error (0 when no answer came). */
export function actionsStatus(err: unknown): number {
  const c = (err as { cause?: unknown })?.cause;
  return c instanceof ActionsServiceError ? c.status : err instanceof ActionsServiceError ? err.status : 0;
}

export function actionsTypeName(err: unknown): string {
  const c = (err as { cause?: unknown })?.cause;
  const e = c instanceof ActionsServiceError ? c : err instanceof ActionsServiceError ? err : undefined;
  return e?.typeName ?? '';
}

const retryable = (status: number): boolean => status >= 500 || status === 0;

/** One call with retries on 5xx and network errors; every attempt is recorded. */
export async function actionsCall(h: ActionsHttp, req: ActionsRequest): Promise<ActionsAnswer> {
  const attempts = req.retry === false ? 1 : h.retries + 1;
  for (let n = 1; ; n++) {
    const t0 = performance.now();
    let status = 0;
    try {
      const res = await h.fetch(req.url, {
        method: req.method,
        headers: {
          authorization: req.authorization,
          'user-agent': h.userAgent,
          accept: `application/json; api-version=${API_VERSION}`,
          ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...req.headers,
        },
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        signal: req.signal,
      });
      status = res.status;
      const text = await res.text();
      h.record?.({ method: req.method, route: req.route, status, durationMs: performance.now() - t0, service: 'actions' });
      if (!retryable(status) || n >= attempts) return { status, text };
    } catch (err) {
      h.record?.({ method: req.method, route: req.route, status, durationMs: performance.now() - t0, service: 'actions' });
      if (req.signal?.aborted || n >= attempts) throw new FleetError('GITHUB_REQUEST', `${req.method} ${req.route} failed: ${(err as Error).message}`, { cause: err });
    }
    h.logger.debug({ route: `${req.method} ${req.route}`, status, attempt: n }, 'scale-set call retried');
    await h.clock.sleep(n * n * h.retryBaseMs);
  }
}

function codeFor(status: number): ErrorCode {
  if (status === 401 || status === 403) return 'GITHUB_AUTH';
  if (status === 404) return 'GITHUB_NOT_FOUND';
  if (status === 409) return 'GITHUB_CONFLICT';
  return 'GITHUB_REQUEST';
}

/** Error bodies are `{typeName, message}` (sometimes with a BOM, sometimes plain text). */
export function serviceError(what: string, a: ActionsAnswer): FleetError {
  let typeName: string | undefined;
  let message = a.text.replace(/^\uFEFF/, '').slice(0, 500);
  try {
    const j = JSON.parse(message) as { typeName?: string; message?: string };
    typeName = j.typeName;
    message = j.message ?? message;
  } catch {
    /* plain text */
  }
  const cause = new ActionsServiceError(a.status, typeName, message);
  return new FleetError(codeFor(a.status), `${what} failed: HTTP ${a.status}${typeName ? ` ${typeName}` : ''}: ${message}`, { cause });
}

/** JSON of a 2xx answer, or a clear error (an empty or malformed body is SCALESET_BAD_MESSAGE). */
export function parseJson<T>(what: string, a: ActionsAnswer): T {
  const text = a.text.replace(/^\uFEFF/, '');
  if (!text.trim()) throw new FleetError('SCALESET_BAD_MESSAGE', `${what}: empty answer (HTTP ${a.status})`);
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new FleetError('SCALESET_BAD_MESSAGE', `${what}: malformed JSON (HTTP ${a.status})`, { cause: err });
  }
}

/** `base` + `path` + api-version, whatever slashes either has. */
export function serviceUrl(base: string, path: string, query: Record<string, string | number> = {}): string {
  const u = new URL(path.replace(/^\/+/, ''), base.endsWith('/') ? base : `${base}/`);
  for (const [k, v] of Object.entries(query)) u.searchParams.set(k, String(v));
  u.searchParams.set('api-version', API_VERSION);
  return u.toString();
}
