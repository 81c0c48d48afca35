import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readBody } from './body.js';
import { applyServerLimits, type ApiLimits } from './limits.js';

/** Control-route bodies are a few fields of JSON. */
const API_BODY_LIMIT = 64 * 1024;

/** Answer 413 and hang up: the rest of an oversized body is never read. */
export function tooLarge(req: IncomingMessage, res: ServerResponse): void {
  refuse(req, res, 413, 'payload too large');
}

/** Answer and hang up without reading the body. */
export function refuse(req: IncomingMessage, res: ServerResponse, status: number, error: string): void {
  res.shouldKeepAlive = false;
  json(res, status, { error });
  res.once('finish', () => setTimeout(() => req.destroy(), 100).unref());
}

export async function jsonBody(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
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


export function httpServer(onRequest: (req: IncomingMessage, res: ServerResponse) => void, limits: ApiLimits): Server {
  const s = createServer(onRequest);
  applyServerLimits(s, limits);
  return s;
}

export function closeServer(s: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    s.close(() => resolve());
    s.closeAllConnections();
  });
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Compares digests so neither the length nor the content of the token leaks through timing. */
export function bearerOk(req: IncomingMessage, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header(req, 'authorization') ?? '');
  if (!m?.[1]) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1].trim()), digest(token));
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, JSON.stringify(body) + '\n', 'application/json; charset=utf-8');
}

export function send(res: ServerResponse, status: number, body: string, contentType: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.setHeader('Cache-Control', 'no-store');
  res.end(body);
}
