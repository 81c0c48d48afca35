import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiDeps } from './deps.js';
import { json, jsonBody } from './http-util.js';
import type { DrainRequest } from './types.js';

type Route = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** drain, undrain and deregister-all: validate the body, call the daemon, answer. 501 when not wired. */
export function controlRoutes(deps: Pick<ApiDeps, 'drain' | 'undrain' | 'deregisterAll'>): { drain: Route; undrain: Route; deregisterAll: Route } {
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

  return { drain, undrain, deregisterAll };
}
