import { FleetError } from '../errors.js';
import type { StatusReport } from './types.js';

export interface ApiClientOptions {
  /** api.listen from the config; a wildcard address is reached through loopback. */
  listen: { host: string; port: number };
  token?: string;
  /** Per request. Default 10 s (deregister-all: 5 min, it talks to GitHub for every runner). */
  timeoutMs?: number;
}

export interface ApiClient {
  readonly baseUrl: string;
  status(): Promise<StatusReport>;
  drain(req: { pool?: string; timeoutSeconds?: number }): Promise<Record<string, unknown>>;
  deregisterAll(): Promise<Record<string, unknown>>;
}

export function apiBaseUrl(listen: { host: string; port: number }): string {
  let host = listen.host;
  if (host === '0.0.0.0' || host === '') host = '127.0.0.1';
  if (host === '::' || host === '[::]') host = '::1';
  if (host.includes(':') && !host.startsWith('[')) host = `[${host}]`;
  return `http://${host}:${listen.port}`;
}

/**
 * The CLI's way to the running daemon. A daemon that cannot be reached (refused, timed out,
 * answering 5xx) is DAEMON_UNREACHABLE, so callers can fall back; a rejected token is USAGE
 * (the config's api.token does not match the daemon's).
 */
export function createApiClient(opts: ApiClientOptions): ApiClient {
  const baseUrl = apiBaseUrl(opts.listen);

  async function call<T>(method: string, path: string, body?: unknown, timeoutMs = opts.timeoutMs ?? 10_000): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(`${baseUrl}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new FleetError('DAEMON_UNREACHABLE', `daemon not reachable at ${baseUrl}`, { cause: err });
    }
    const text = await res.text().catch(() => '');
    if (res.status === 401) throw new FleetError('USAGE', `the daemon at ${baseUrl} rejected the API token (check api.token)`);
    if (res.status === 400) throw new FleetError('USAGE', `${method} ${path}: ${errorText(text)}`);
    if (res.status === 501) throw new FleetError('NOT_IMPLEMENTED', `the daemon at ${baseUrl} does not support ${method} ${path}`);
    if (!res.ok) {
      throw new FleetError('DAEMON_UNREACHABLE', `daemon at ${baseUrl} answered ${res.status} to ${method} ${path}: ${text.slice(0, 200)}`);
    }
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new FleetError('DAEMON_UNREACHABLE', `daemon at ${baseUrl} sent invalid JSON for ${path}`, { cause: err });
    }
  }

  return {
    baseUrl,
    status: () => call<StatusReport>('GET', '/api/v1/status'),
    drain: (req) => call('POST', '/api/v1/drain', req),
    deregisterAll: () => call('POST', '/api/v1/deregister-all', undefined, Math.max(opts.timeoutMs ?? 0, 5 * 60_000)),
  };
}

function errorText(body: string): string {
  try {
    const e = (JSON.parse(body) as { error?: unknown }).error;
    if (typeof e === 'string') return e;
  } catch {
    // not JSON: show it raw
  }
  return body.slice(0, 200);
}
