import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { promises as fsp } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock } from '../clock.js';
import { describeError, isFleetError } from '../errors.js';
import type { Logger } from '../log.js';
import { readBody } from './body.js';
import { applyServerLimits, DEFAULT_LIMITS, gate, type ApiLimits } from './limits.js';
import type { Metrics } from './metrics.js';
import type { DrainRequest, HealthInfo, StatusReport, WorkflowJobEvent } from './types.js';
import { listenUnix } from './socket.js';
import { parseWorkflowJob, verifySignature } from './webhook.js';

export interface ApiDeps {
  listen: { host: string; port: number };
  /**
   * The operator's control socket (CONTRACT §7): every route, no token asked, since only the
   * daemon's user and root can connect to it (0600). Not served when unset.
   */
  socketPath?: string;
  /**
   * On TCP, /api/v1/* GETs require `Authorization: Bearer <token>` when set; control routes
   * (any other method under /api/) require it always and answer 403 without one configured.
   * /healthz, /metrics and the signed /webhook stay open.
   */
  token?: string;
  /** When set, POST /webhook is enabled (else 404). */
  webhookSecret?: string;
  logger: Logger;
  metrics: Metrics;
  status: () => Promise<StatusReport> | StatusReport;
  health: () => HealthInfo;
  /** Called after the 202 is sent; never blocks the response. */
  onWorkflowJob: (e: WorkflowJobEvent) => Promise<void> | void;
  /** true if this delivery id was already seen; records it otherwise. */
  seenDelivery: (id: string) => boolean;
  /** true if this job id + action was already seen (under another delivery id); records it otherwise. */
  seenJobEvent?: (key: string) => boolean;
  /** Load limits (limits.ts); defaults when absent. */
  limits?: Partial<ApiLimits>;
  /** Start draining (should return once draining has begun, not when it ends). FleetError USAGE → 400. */
  drain?: (req: DrainRequest) => Promise<unknown> | unknown;
  /** Lift an operator's drain on one pool or all. */
  undrain?: (req: { pool?: string }) => Promise<unknown> | unknown;
  /** Deregister every runner of this host and stop them; the result is returned as JSON. */
  deregisterAll?: () => Promise<unknown> | unknown;
  clock?: Clock;
}

export interface ApiServer {
  start(): Promise<{ port: number }>;
  close(): Promise<void>;
}

const API_BODY_LIMIT = 64 * 1024;

export function createApiServer(deps: ApiDeps): ApiServer {
  const clock = deps.clock ?? systemClock;
  const log = deps.logger.child({ component: 'api' });
  let startedAt = clock.now();
  let server: Server | undefined;
  let control: { server: Server; path: string; ino: number } | undefined;
  const limits: ApiLimits = { ...DEFAULT_LIMITS, ...deps.limits };
  const webhooks = gate(limits.webhookConcurrency);

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

  async function drain(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!deps.drain) return json(res, 501, { error: 'drain is not available' });
    const body = await jsonBody(req, res);
    if (body === undefined) return;
    const { pool, timeoutSeconds } = body as { pool?: unknown; timeoutSeconds?: unknown };
    if ((pool !== undefined && typeof pool !== 'string') || (timeoutSeconds !== undefined && (typeof timeoutSeconds !== 'number' || timeoutSeconds < 0))) {
      return json(res, 400, { error: 'expected {pool?: string, timeoutSeconds?: number}' });
    }
    const request: DrainRequest = {
      ...(pool !== undefined ? { pool } : {}),
      ...(timeoutSeconds !== undefined ? { timeoutMs: timeoutSeconds * 1000 } : {}),
    };
    const result = await deps.drain(request);
    json(res, 202, { draining: true, ...(result && typeof result === 'object' ? result : {}) });
  }

  async function undrain(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!deps.undrain) return json(res, 501, { error: 'undrain is not available' });
    const body = await jsonBody(req, res);
    if (body === undefined) return;
    const { pool } = body as { pool?: unknown };
    if (pool !== undefined && typeof pool !== 'string') return json(res, 400, { error: 'expected {pool?: string}' });
    await deps.undrain(pool !== undefined ? { pool } : {});
    json(res, 200, { draining: false, ...(pool !== undefined ? { pool } : {}) });
  }

  async function deregisterAll(_req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!deps.deregisterAll) return json(res, 501, { error: 'deregister is not available' });
    const result = await deps.deregisterAll();
    json(res, 200, { ok: true, ...(result && typeof result === 'object' ? result : {}) });
  }

  async function webhook(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!deps.webhookSecret) return json(res, 404, { error: 'not found' });
    // Refused before a byte of the body is read: buffered bodies stay under the cap.
    if (!webhooks.enter()) {
      deps.metrics.webhookDelivery('overloaded');
      res.setHeader('Retry-After', '1');
      return refuse(req, res, 503, 'busy: too many webhook deliveries at once');
    }
    try {
      await readWebhook(req, res, deps.webhookSecret);
    } finally {
      webhooks.leave();
    }
  }

  async function readWebhook(req: IncomingMessage, res: ServerResponse, secret: string): Promise<void> {
    const body = await readBody(req);
    if (!body.ok) {
      if (body.reason === 'aborted') return void req.destroy();
      deps.metrics.webhookDelivery('too_large');
      return tooLarge(req, res);
    }
    if (!(await verifySignature(secret, body.body, header(req, 'x-hub-signature-256')))) {
      deps.metrics.webhookDelivery('bad_signature');
      return json(res, 401, { error: 'bad signature' });
    }
    const event = header(req, 'x-github-event');
    if (event === 'ping') {
      deps.metrics.webhookDelivery('ping');
      return json(res, 200, { ok: true });
    }
    if (event !== 'workflow_job') {
      deps.metrics.webhookDelivery('ignored');
      return json(res, 202, { ignored: true });
    }
    const deliveryId = header(req, 'x-github-delivery') ?? '';
    const parsed = parseWorkflowJob(body.body, deliveryId);
    if (!parsed) {
      deps.metrics.webhookDelivery('invalid');
      return json(res, 400, { error: 'not a workflow_job payload' });
    }
    // Parsed before recording the id, so a delivery we could not read may be redelivered.
    if ((deliveryId && deps.seenDelivery(deliveryId)) || deps.seenJobEvent?.(`${parsed.job.id}:${parsed.action}`)) {
      deps.metrics.webhookDelivery('duplicate');
      return json(res, 202, { duplicate: true });
    }
    deps.metrics.webhookDelivery('accepted');
    json(res, 202, { accepted: true });
    log.debug({ deliveryId, action: parsed.action, job: parsed.job.id }, 'workflow_job accepted');
    setImmediate(() => {
      Promise.resolve()
        .then(() => deps.onWorkflowJob(parsed))
        .catch((err: unknown) => log.error({ err: describeError(err), deliveryId }, 'workflow_job handler failed'));
    });
  }

  /** Answer 413 and hang up: the rest of an oversized body is never read. */
  function tooLarge(req: IncomingMessage, res: ServerResponse): void {
    refuse(req, res, 413, 'payload too large');
  }

  /** Answer and hang up without reading the body. */
  function refuse(req: IncomingMessage, res: ServerResponse, status: number, error: string): void {
    res.shouldKeepAlive = false;
    json(res, status, { error });
    res.once('finish', () => setTimeout(() => req.destroy(), 100).unref());
  }

  async function jsonBody(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
    const body = await readBody(req, API_BODY_LIMIT);
    if (!body.ok) {
      if (body.reason === 'too_large') tooLarge(req, res);
      else req.destroy();
      return undefined;
    }
    if (body.body.length === 0) return {};
    try {
      return JSON.parse(body.body.toString('utf8')) as unknown;
    } catch {
      json(res, 400, { error: 'invalid JSON' });
      return undefined;
    }
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

function httpServer(onRequest: (req: IncomingMessage, res: ServerResponse) => void, limits: ApiLimits): Server {
  const s = createServer(onRequest);
  applyServerLimits(s, limits);
  return s;
}

function closeServer(s: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    s.close(() => resolve());
    s.closeAllConnections();
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Compares digests so neither the length nor the content of the token leaks through timing. */
function bearerOk(req: IncomingMessage, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header(req, 'authorization') ?? '');
  if (!m?.[1]) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1].trim()), digest(token));
}

function json(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, JSON.stringify(body) + '\n', 'application/json; charset=utf-8');
}

function send(res: ServerResponse, status: number, body: string, contentType: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.setHeader('Cache-Control', 'no-store');
  res.end(body);
}
