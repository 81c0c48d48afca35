import { promises as fsp } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock } from '../clock.js';
import { describeError, isFleetError } from '../errors.js';
import { controlRoutes } from './control-routes.js';
import type { ApiDeps } from './deps.js';
import { bearerOk, closeServer, httpServer, json, send } from './http-util.js';
import { DEFAULT_LIMITS, gate, type ApiLimits } from './limits.js';
import { listenUnix } from './socket.js';
import { webhookRoute } from './webhook-route.js';

export type { ApiDeps } from './deps.js';

export interface ApiServer {
  start(): Promise<{ port: number }>;
  close(): Promise<void>;
}

export function createApiServer(deps: ApiDeps): ApiServer {
  const clock = deps.clock ?? systemClock;
  const log = deps.logger.child({ component: 'api' });
  let startedAt = clock.now();
  let server: Server | undefined;
  let control: { server: Server; path: string; ino: number } | undefined;
  const limits: ApiLimits = { ...DEFAULT_LIMITS, ...deps.limits };
  const webhooks = gate(limits.webhookConcurrency);
  const { drain, undrain, deregisterAll } = controlRoutes(deps);
  const webhook = webhookRoute(deps, webhooks, log);

  const routes: Record<string, Partial<Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<void>>>> = {
    '/healthz': { GET: async (_req, res) => healthz(res) },
    '/metrics': { GET: async (_req, res) => send(res, 200, await deps.metrics.render(), deps.metrics.contentType) },
    '/api/v1/status': { GET: async (_req, res) => json(res, 200, await deps.status()) },
    '/api/v1/drain': { POST: drain },
    '/api/v1/undrain': { POST: undrain },
    '/api/v1/deregister-all': { POST: deregisterAll },
    '/webhook': { POST: webhook },
  };

  function healthz(res: ServerResponse): void {
    const h = deps.health();
    const limit = 3 * h.intervalMs;
    const since = clock.now() - (h.lastReconcileAt ?? startedAt);
    if (h.ok && since <= limit) return json(res, 200, { status: 'ok' });
    json(res, 503, { status: 'unhealthy', lastReconcileAt: h.lastReconcileAt, intervalMs: h.intervalMs });
  }

  async function handle(req: IncomingMessage, res: ServerResponse, via: 'tcp' | 'socket'): Promise<void> {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    const route = routes[pathname];
    if (!route) return json(res, 404, { error: 'not found' });
    const method = req.method ?? 'GET';
    const fn = route[method];
    if (!fn) {
      res.setHeader('Allow', Object.keys(route).join(', '));
      return json(res, 405, { error: 'method not allowed' });
    }
    if (via === 'tcp' && pathname.startsWith('/api/')) {
      // Fail closed: every state-changing route under /api/, present and future, is a control route.
      const isControl = method !== 'GET' && method !== 'HEAD';
      if (isControl && !deps.token) {
        return json(res, 403, { error: 'control routes are refused on TCP without api.token; use the runner-fleet CLI (control socket) as root or the daemon user', code: 'API_FORBIDDEN' });
      }
      if (deps.token && !bearerOk(req, deps.token)) {
        // Control routes answer 403 to anyone without the token (a job on the loopback included).
        if (isControl) return json(res, 403, { error: 'control routes on TCP need the api.token bearer token', code: 'API_FORBIDDEN' });
        res.setHeader('WWW-Authenticate', 'Bearer');
        return json(res, 401, { error: 'unauthorized' });
      }
    }
    await fn(req, res);
  }

  const onTcp = (req: IncomingMessage, res: ServerResponse) => onRequest(req, res, 'tcp');
  const onSocket = (req: IncomingMessage, res: ServerResponse) => onRequest(req, res, 'socket');

  function onRequest(req: IncomingMessage, res: ServerResponse, via: 'tcp' | 'socket'): void {
    handle(req, res, via).catch((err: unknown) => {
      const usage = isFleetError(err, 'USAGE');
      if (!usage) log.error({ err: describeError(err), url: req.url }, 'api request failed');
      if (res.headersSent) return void res.destroy();
      json(res, usage ? 400 : 500, { error: describeError(err), ...(isFleetError(err) ? { code: err.code } : {}) });
    });
  }

  return {
    async start() {
      const s = httpServer(onTcp, limits);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(deps.listen.port, deps.listen.host, () => {
          s.off('error', reject);
          resolve();
        });
      });
      server = s;
      if (deps.socketPath) {
        const cs = httpServer(onSocket, limits);
        try {
          await listenUnix(cs, deps.socketPath);
        } catch (err) {
          await closeServer(cs);
          await closeServer(s);
          server = undefined;
          throw err;
        }
        control = { server: cs, path: deps.socketPath, ino: (await fsp.stat(deps.socketPath)).ino };
      }
      startedAt = clock.now();
      const port = (s.address() as AddressInfo).port;
      log.info({ host: deps.listen.host, port, socket: deps.socketPath, webhook: !!deps.webhookSecret, auth: !!deps.token }, 'api listening');
      return { port };
    },
    async close() {
      const s = server;
      const c = control;
      server = undefined;
      control = undefined;
      if (c) {
        await closeServer(c.server);
        // Only our own socket: never one a later daemon bound in its place.
        const st = await fsp.lstat(c.path).catch(() => undefined);
        if (st?.isSocket() && st.ino === c.ino) await fsp.rm(c.path, { force: true });
      }
      if (s) await closeServer(s);
    },
  };
}

