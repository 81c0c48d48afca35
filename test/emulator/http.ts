/** A tiny router for the emulator: templated routes, JSON bodies, GitHub-style errors. */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  /** Path without the GHES `/api/v3` prefix and without the query. */
  path: string;
  /** `/api/v3` when the request used it, else ''. */
  prefix: string;
  query: URLSearchParams;
  params: Record<string, string>;
  route: string;
  body: any;
  rawBody: Buffer;
  /** Resolved by server.ts before the handler runs (REST routes only). */
  auth: AuthInfo | null;
  /** Absolute base of this request, e.g. http://127.0.0.1:1234/api/v3 */
  base: string;
}

export type AuthInfo = { kind: 'pat'; token: string } | { kind: 'installation'; token: string; account: string };

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Raw bytes instead of JSON. */
  raw?: Buffer;
}

export type Handler = (ctx: Ctx) => Reply | Promise<Reply>;

export interface RouteDef {
  method: string;
  template: string;
  re: RegExp;
  keys: string[];
  handler: Handler;
  /** REST routes get auth, rate limits and faults; runner-protocol routes none; Actions-service (scale set) routes faults only. */
  kind: 'rest' | 'public' | 'app' | 'runner' | 'actions' | 'file';
}

export class Router {
  readonly routes: RouteDef[] = [];

  add(method: string, template: string, handler: Handler, kind: RouteDef['kind'] = 'rest'): void {
    const keys: string[] = [];
    const pattern = template.replace(/[.]/g, '\\.').replace(/\{(\w+)\}/g, (_m, k: string) => {
      keys.push(k);
      return k === 'path' ? '(.+)' : '([^/]+)';
    });
    this.routes.push({ method, template, re: new RegExp(`^${pattern}$`), keys, handler, kind });
  }

  /** Adds the route under each scope prefix: repos/{owner}/{repo}, orgs/{org}, enterprises/{enterprise}. */
  addScoped(method: string, suffix: string, handler: Handler): void {
    for (const p of ['/repos/{owner}/{repo}', '/orgs/{org}', '/enterprises/{enterprise}']) this.add(method, p + suffix, handler);
  }

  match(method: string, path: string): { def: RouteDef; params: Record<string, string> } | { def: null; methodMismatch: boolean } {
    let methodMismatch = false;
    for (const def of this.routes) {
      const m = def.re.exec(path);
      if (!m) continue;
      if (def.method !== method) {
        methodMismatch = true;
        continue;
      }
      const params: Record<string, string> = {};
      def.keys.forEach((k, i) => (params[k] = decodeURIComponent(m[i + 1]!)));
      return { def, params };
    }
    return { def: null, methodMismatch };
  }
}

export const json = (status: number, body: unknown, headers?: Record<string, string>): Reply => ({ status, body, headers });

/** GitHub's error body shape. */
export const error = (status: number, message: string, extra?: Record<string, unknown>): Reply => ({
  status,
  body: { message, documentation_url: 'https://docs.github.com/rest', status: String(status), ...extra },
});

export function readBody(req: IncomingMessage, limit = 8 * 1024 * 1024): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) reject(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Scope key and existence check from route params. */
export function scopeOf(params: Record<string, string>): { kind: 'repo' | 'org' | 'enterprise'; name: string; key: string } {
  if (params.owner !== undefined) {
    const name = `${params.owner}/${params.repo}`;
    return { kind: 'repo', name, key: `repo:${name}` };
  }
  if (params.org !== undefined) return { kind: 'org', name: params.org, key: `org:${params.org}` };
  return { kind: 'enterprise', name: params.enterprise!, key: `enterprise:${params.enterprise}` };
}
