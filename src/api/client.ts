import { lstatSync } from 'node:fs';
import { request } from 'node:http';
import { FleetError } from '../errors.js';
import type { StatusReport } from './types.js';

export interface ApiClientOptions {
  /** api.listen from the config; a wildcard address is reached through loopback. */
  listen: { host: string; port: number };
  /**
   * The daemon's control socket ({dataDir}/control.sock). Used first when it exists: the only
   * way to drain or deregister without api.token. Unreachable (not our uid, daemon down): TCP.
   */
  socketPath?: string;
  token?: string;
  /** Per request. Default 10 s (deregister-all: 5 min, it talks to GitHub for every runner). */
  timeoutMs?: number;
}

export interface ApiClient {
  /** Where it talks to the daemon: `unix:/path` (control socket) or `http://host:port`. */
  readonly baseUrl: string;
  status(): Promise<StatusReport>;
  drain(req: { pool?: string; timeoutSeconds?: number }): Promise<Record<string, unknown>>;
  undrain(req: { pool?: string }): Promise<Record<string, unknown>>;
  deregisterAll(): Promise<Record<string, unknown>>;
}

export function apiBaseUrl(listen: { host: string; port: number }): string {
  let host = listen.host;
  if (host === '0.0.0.0' || host === '') host = '127.0.0.1';
  if (host === '::' || host === '[::]') host = '::1';
  if (host.includes(':') && !host.startsWith('[')) host = `[${host}]`;
  return `http://${host}:${listen.port}`;
}

type Target = { socketPath: string } | { url: URL };
interface Answer {
  status: number;
  text: string;
}

/**
 * The CLI's way to the running daemon. A daemon that cannot be reached (refused, timed out,
 * answering 5xx) is DAEMON_UNREACHABLE, so callers can fall back; a rejected token is USAGE
 * (the config's api.token does not match the daemon's); a control call refused on TCP is
 * API_FORBIDDEN (not the daemon's user, and no api.token).
 */
export function createApiClient(opts: ApiClientOptions): ApiClient {
  const tcpUrl = apiBaseUrl(opts.listen);
  const socket = opts.socketPath !== undefined && isSocket(opts.socketPath) ? opts.socketPath : undefined;
  let baseUrl = socket ? `unix:${socket}` : tcpUrl;

  async function send(method: string, path: string, body: unknown, timeoutMs: number): Promise<Answer> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const payload = body !== undefined ? JSON.stringify(body) : undefined;
    if (socket) {
      try {
        return await exchange({ socketPath: socket }, method, path, headers, payload, timeoutMs);
      } catch (err) {
        // A hung daemon is not retried elsewhere; a socket we may not open or nobody serves is.
        if (!connectError(err)) throw new FleetError('DAEMON_UNREACHABLE', `daemon not answering at unix:${socket}`, { cause: err });
      }
    }
    baseUrl = tcpUrl;
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    try {
      return await exchange({ url: new URL(path, tcpUrl) }, method, path, headers, payload, timeoutMs);
    } catch (err) {
      throw new FleetError('DAEMON_UNREACHABLE', `daemon not reachable at ${tcpUrl}`, { cause: err });
    }
  }

  async function call<T>(method: string, path: string, body?: unknown, timeoutMs = opts.timeoutMs ?? 10_000): Promise<T> {
    const res = await send(method, path, body, timeoutMs);
    const { text } = res;
    if (res.status === 401) throw new FleetError('USAGE', `the daemon at ${baseUrl} rejected the API token (check api.token)`);
    if (res.status === 403) {
      const why = opts.token ? 'with this api.token (the daemon has another one)' : 'without api.token';
      throw new FleetError('API_FORBIDDEN', `the daemon at ${baseUrl} refuses ${method} ${path} on TCP ${why}: run this as root or the daemon's user (control socket ${opts.socketPath ?? '{dataDir}/control.sock'}), or configure the daemon's api.token`);
    }
    if (res.status === 400) throw new FleetError('USAGE', `${method} ${path}: ${errorText(text)}`);
    if (res.status === 501) throw new FleetError('NOT_IMPLEMENTED', `the daemon at ${baseUrl} does not support ${method} ${path}`);
    if (res.status < 200 || res.status >= 300) {
      throw new FleetError('DAEMON_UNREACHABLE', `daemon at ${baseUrl} answered ${res.status} to ${method} ${path}: ${text.slice(0, 200)}`);
    }
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new FleetError('DAEMON_UNREACHABLE', `daemon at ${baseUrl} sent invalid JSON for ${path}`, { cause: err });
    }
  }

  return {
    get baseUrl() {
      return baseUrl;
    },
    status: () => call<StatusReport>('GET', '/api/v1/status'),
    drain: (req) => call('POST', '/api/v1/drain', req),
    undrain: (req) => call('POST', '/api/v1/undrain', req),
    deregisterAll: () => call('POST', '/api/v1/deregister-all', undefined, Math.max(opts.timeoutMs ?? 0, 5 * 60_000)),
  };
}

function isSocket(file: string): boolean {
  try {
    return lstatSync(file).isSocket();
  } catch {
    return false; // absent, or a data dir we may not even look into: TCP
  }
}

/** Nobody listening, or not allowed to connect: the request never reached a daemon. */
function connectError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'EACCES' || code === 'EPERM';
}

function exchange(target: Target, method: string, path: string, headers: Record<string, string>, body: string | undefined, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const where = 'socketPath' in target
      ? { socketPath: target.socketPath, path }
      : { host: target.url.hostname.replace(/^\[|\]$/g, ''), port: target.url.port, path: `${target.url.pathname}${target.url.search}` };
    const req = request({ ...where, method, headers: body !== undefined ? { ...headers, 'content-length': String(Buffer.byteLength(body)) } : headers, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
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
