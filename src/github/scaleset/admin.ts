import { FleetError } from '../../errors.js';
import { scopeUrl } from '../../config/names.js';
import { scopeKey } from '../scope.js';
import type { Scope, Token } from '../types.js';
import { actionsCall, actionsStatus, parseJson, serviceError, type ActionsHttp } from './http.js';
import type { AdminToken } from './types.js';

export interface AdminConnectionOptions {
  /** https://api.github.com or GHES https://HOST/api/v3 */
  apiUrl: string;
  /** Web URL (https://github.com, GHES https://HOST): the scope's URL is sent in the body. */
  githubUrl: string;
  scope: Scope;
  /** The REST side's registration token (cached there; PAT or App auth). */
  registrationToken: (scope: Scope) => Promise<Token>;
  http: ActionsHttp;
  /** 401/403/404 right after a registration token is minted can be propagation: try this often. */
  attempts?: number;
}

/** Renew this long before the admin JWT's exp, at most a fifth of its life. */
const MAX_MARGIN_MS = 5 * 60_000;
/** When the token is not a readable JWT, treat it as this long-lived (GitHub's are 1 h). */
const FALLBACK_LIFE_MS = 50 * 60_000;

/** exp of a JWT (epoch ms), or undefined when the token is not one. */
export function jwtExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The admin connection to the Actions service for one scope: a registration token traded for the
 * service URL and an admin JWT (POST {apiUrl}/actions/runner-registration, RemoteAuth). Reused
 * until shortly before the JWT's exp; one exchange at a time.
 */
export class AdminConnection {
  private cur: (AdminToken & { renewAt: number }) | null = null;
  private inflight: Promise<AdminToken> | null = null;
  /** Exchanges made (for reports: each costs one registration-token read, usually cached). */
  connects = 0;

  constructor(private readonly opts: AdminConnectionOptions) {}

  async get(): Promise<AdminToken> {
    if (this.cur && this.opts.http.clock.now() < this.cur.renewAt) return this.cur;
    this.inflight ??= this.connect().finally(() => (this.inflight = null));
    return this.inflight;
  }

  /** The service said 401: the admin token is no good any more, whatever its exp says. */
  invalidate(token?: string): void {
    if (!token || this.cur?.token === token) this.cur = null;
  }

  private async connect(): Promise<AdminToken> {
    const { http, scope } = this.opts;
    const url = `${this.opts.apiUrl.replace(/\/+$/, '')}/actions/runner-registration`;
    const attempts = this.opts.attempts ?? 4;
    for (let n = 1; ; n++) {
      const reg = await this.opts.registrationToken(scope);
      const a = await actionsCall(http, {
        method: 'POST', url, route: '/actions/runner-registration', authorization: `RemoteAuth ${reg.token}`,
        body: { url: scopeUrl(this.opts.githubUrl, scope), runner_event: 'register' },
      });
      if (a.status === 200 || a.status === 201) {
        const body = parseJson<{ url?: string; token?: string }>('admin connection', a);
        if (!body.url || !body.token) throw new FleetError('SCALESET_BAD_MESSAGE', `admin connection for ${scopeKey(scope)}: answer without url or token`);
        const now = http.clock.now();
        const expiresAt = jwtExpiry(body.token) ?? now + FALLBACK_LIFE_MS;
        const margin = Math.min(MAX_MARGIN_MS, Math.max(0, (expiresAt - now) / 5));
        this.cur = { serviceUrl: body.url, token: body.token, expiresAt, renewAt: expiresAt - margin };
        this.connects++;
        return this.cur;
      }
      const err = serviceError(`admin connection for ${scopeKey(scope)}`, a);
      if (![401, 403, 404].includes(actionsStatus(err)) || n >= attempts) throw err;
      await http.clock.sleep(n * http.retryBaseMs);
    }
  }
}
