/**
 * HTTP front of the emulator: GHES prefix, auth, rate limits, fault injection and request counters
 * around the routes in rest.ts / runner-proto.ts / app routes, plus served files.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { error, json, readBody, type AuthInfo, type Ctx, type Reply, type RouteDef, type Router } from './http.js';
import type { EmuState } from './state.js';
import type { FileStore } from './release.js';
import type { RequestCount } from './types.js';

export interface Fault { remaining: number; status: number; routeIncludes?: string }

export interface ServerDeps {
  state: EmuState;
  router: Router;
  files: FileStore;
  pats: Set<string>;
  rateLimit: number;
}

/** Mutable knobs the Emulator object exposes. */
export class ServerControl {
  faults: Fault[] = [];
  rateLimitedUntil = 0;
  delayMs = 0;
  counts = new Map<string, RequestCount>();
  window = { used: 0, resetAt: 0 };
}

export function startHttp(deps: ServerDeps, ctl: ServerControl, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    handle(deps, ctl, req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, error(500, `emulator error: ${(err as Error).message}`));
      else res.destroy();
    });
  });
  // Longer than any client keeps an idle socket, so a client never reuses one the server is closing.
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function send(res: ServerResponse, r: Reply): void {
  if (res.writableEnded || res.destroyed) return;
  const headers: Record<string, string> = { ...r.headers };
  let payload: Buffer | undefined = r.raw;
  if (!payload && r.body !== undefined && r.status !== 204 && r.status !== 304) {
    payload = Buffer.from(JSON.stringify(r.body));
    headers['content-type'] = 'application/json; charset=utf-8';
  }
  if (payload) headers['content-length'] = String(payload.length);
  res.writeHead(r.status, headers);
  res.end(payload);
}

async function handle(deps: ServerDeps, ctl: ServerControl, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { state } = deps;
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const method = (req.method ?? 'GET').toUpperCase();
  const prefix = url.pathname === '/api/v3' || url.pathname.startsWith('/api/v3/') ? '/api/v3' : '';
  const path = url.pathname.slice(prefix.length) || '/';
  const rawBody = await readBody(req);

  let kind: RouteDef['kind'];
  let route: string;
  let handler: ((ctx: Ctx) => Reply | Promise<Reply>) | null = null;
  let params: Record<string, string> = {};
  if ((method === 'GET' || method === 'HEAD') && deps.files.has(url.pathname)) {
    kind = 'file';
    route = url.pathname;
  } else {
    const m = deps.router.match(method, path);
    if (m.def) {
      kind = m.def.kind;
      route = m.def.template;
      handler = m.def.handler;
      params = m.params;
    } else {
      kind = 'rest';
      route = m.methodMismatch ? path : '(unmatched)';
    }
  }

  const rlHeaders = (): Record<string, string> => {
    rollWindow(ctl, state.now());
    return {
      'x-ratelimit-limit': String(deps.rateLimit),
      'x-ratelimit-remaining': String(Math.max(0, deps.rateLimit - ctl.window.used)),
      'x-ratelimit-reset': String(Math.ceil(ctl.window.resetAt / 1000)),
      'x-ratelimit-used': String(ctl.window.used),
      'x-ratelimit-resource': 'core',
    };
  };
  const finish = (r: Reply): void => {
    const key = `${method} ${route} ${r.status}`;
    const c = ctl.counts.get(key) ?? { method, route, status: r.status, count: 0 };
    c.count++;
    ctl.counts.set(key, c);
    if (kind !== 'runner' && kind !== 'actions' && r.status !== 304) ctl.window.used++;
    send(res, { ...r, headers: { ...rlHeaders(), ...r.headers } });
  };

  if (kind !== 'runner') {
    if (ctl.delayMs > 0) await new Promise((r) => setTimeout(r, ctl.delayMs));
    const fault = ctl.faults.find((f) => f.remaining > 0 && (!f.routeIncludes || route.includes(f.routeIncludes) || url.pathname.includes(f.routeIncludes)));
    if (fault) {
      fault.remaining--;
      ctl.faults = ctl.faults.filter((f) => f.remaining > 0);
      return finish(error(fault.status, 'Injected fault'));
    }
  }
  if (kind === 'file') {
    const body = await deps.files.get(url.pathname);
    return finish({ status: 200, raw: method === 'HEAD' ? Buffer.alloc(0) : body, headers: { 'content-type': 'application/octet-stream' } });
  }
  if (!handler) return finish(error(404, 'Not Found'));

  let auth: AuthInfo | null = null;
  if (kind === 'rest' || kind === 'public' || kind === 'app') {
    const header = req.headers.authorization;
    if (kind !== 'app' && (header || kind === 'rest')) {
      auth = resolveAuth(deps, header);
      if (!auth) return finish(error(401, 'Bad credentials'));
    }
    rollWindow(ctl, state.now());
    if (ctl.rateLimitedUntil > state.now() || ctl.window.used >= deps.rateLimit) {
      const reset = ctl.rateLimitedUntil > state.now() ? ctl.rateLimitedUntil : ctl.window.resetAt;
      const r = error(403, 'API rate limit exceeded for user. (But here\'s the good news: Authenticated requests get a higher rate limit.)');
      const key = `${method} ${route} 403`;
      const c = ctl.counts.get(key) ?? { method, route, status: 403, count: 0 };
      c.count++;
      ctl.counts.set(key, c);
      return send(res, { ...r, headers: { ...rlHeaders(), 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.ceil(reset / 1000)) } });
    }
  }

  let body: unknown = undefined;
  if (rawBody.length > 0) {
    try {
      body = JSON.parse(rawBody.toString('utf8'));
    } catch {
      return finish(error(400, 'Problems parsing JSON'));
    }
  }
  const host = req.headers.host ?? '127.0.0.1';
  const ctx: Ctx = { req, res, method, path, prefix, query: url.searchParams, params, route, body, rawBody, auth, base: `http://${host}${prefix}` };
  finish(await handler(ctx));
}

function rollWindow(ctl: ServerControl, now: number): void {
  if (now >= ctl.window.resetAt) ctl.window = { used: 0, resetAt: now + 3_600_000 };
}

function resolveAuth(deps: ServerDeps, header: string | undefined): AuthInfo | null {
  const m = /^(token|bearer|basic)\s+(\S+)$/i.exec(header ?? '');
  if (!m) return null;
  // `basic base64("github:"+PAT)` is how the runner's own --pat option authenticates.
  const token = m[1]!.toLowerCase() === 'basic' ? Buffer.from(m[2]!, 'base64').toString('utf8').split(':').slice(1).join(':') : m[2]!;
  if (deps.pats.has(token)) return { kind: 'pat', token };
  const t = deps.state.liveToken(token, ['installation']);
  return t ? { kind: 'installation', token, account: t.account! } : null;
}

export { json };
