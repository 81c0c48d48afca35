import { systemClock, type Clock } from '../clock.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Store, StoredToken } from '../store/types.js';
import { scopeKey } from './scope.js';
import type { RunnerService, Scope, Token } from './types.js';

export type TokenKind = StoredToken['kind'];

export interface TokenCacheOptions {
  store: Store;
  service: Pick<RunnerService, 'registrationToken' | 'removeToken'>;
  clock?: Clock;
  logger?: Logger;
  /** The refresh schedule replaces a token with less than this left. Default 30 min (tokens live 1 h). */
  minValidityMs?: number;
  /**
   * A runner start uses any cached token valid at least this much longer: enough for config.sh
   * to register with it (a few seconds), with room to spare. Default 2 min.
   */
  useMarginMs?: number;
}

export interface RefreshResult {
  scopeKey: string;
  kind: TokenKind;
  refreshed: boolean;
  expiresAt?: number;
  error?: string;
}

/**
 * Registration/remove tokens, kept in the 0600 store so a restart does not fetch them again
 * and `config.sh` never gets one about to expire (myoung34 #494: an hour-old token crash-looped).
 */
export class TokenCache {
  private readonly store: Store;
  private readonly service: TokenCacheOptions['service'];
  private readonly clock: Clock;
  private readonly logger: Logger | undefined;
  private readonly minValidityMs: number;
  private readonly useMarginMs: number;
  private readonly inflight = new Map<string, Promise<Token>>();

  constructor(opts: TokenCacheOptions) {
    this.store = opts.store;
    this.service = opts.service;
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger;
    this.minValidityMs = opts.minValidityMs ?? 30 * 60_000;
    this.useMarginMs = opts.useMarginMs ?? 2 * 60_000;
  }

  /**
   * A token to use now: the cached one while it outlives the start by useMarginMs (keeping
   * tokens fresh is the schedule's job, not every start's), else fetched, once per scope+kind
   * at a time however many starts and refreshes ask together.
   */
  async get(scope: Scope, kind: TokenKind = 'registration'): Promise<Token> {
    const cached = this.fresh(scope, kind, this.useMarginMs);
    return cached ?? this.fetch(scope, kind);
  }

  /**
   * Called on the tokens.refreshSchedule cron: renews every token of these scopes that has
   * less than minValidityMs left (or none yet). One failing scope does not stop the others.
   */
  async refreshDue(scopes: Scope[], kinds: TokenKind[] = ['registration']): Promise<RefreshResult[]> {
    const unique = new Map(scopes.map((s) => [scopeKey(s), s]));
    const jobs = [...unique.values()].flatMap((scope) => kinds.map((kind) => this.refreshOne(scope, kind)));
    return Promise.all(jobs);
  }

  /** For status and metrics: every stored token's expiry, never the token itself. */
  expiries(): { scopeKey: string; kind: TokenKind; expiresAt: number; fetchedAt: number }[] {
    return this.store.tokens.list().map(({ scopeKey, kind, expiresAt, fetchedAt }) => ({ scopeKey, kind, expiresAt, fetchedAt }));
  }

  private fresh(scope: Scope, kind: TokenKind, marginMs = this.minValidityMs): Token | undefined {
    const t = this.store.tokens.get(scopeKey(scope), kind);
    if (!t || t.expiresAt - this.clock.now() < marginMs) return undefined;
    return { token: t.token, expiresAt: t.expiresAt };
  }

  private async refreshOne(scope: Scope, kind: TokenKind): Promise<RefreshResult> {
    const key = scopeKey(scope);
    if (this.fresh(scope, kind)) return { scopeKey: key, kind, refreshed: false };
    try {
      // A fetch already in flight (a start's, another refresh's) is this refresh too.
      const t = await this.fetch(scope, kind);
      return { scopeKey: key, kind, refreshed: true, expiresAt: t.expiresAt };
    } catch (err) {
      const error = describeError(err);
      this.logger?.warn({ scope: key, kind, err: error }, 'token refresh failed');
      return { scopeKey: key, kind, refreshed: false, error };
    }
  }

  private fetch(scope: Scope, kind: TokenKind): Promise<Token> {
    const key = `${scopeKey(scope)}#${kind}`;
    let p = this.inflight.get(key);
    if (!p) {
      p = this.fetchAndStore(scope, kind).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  private async fetchAndStore(scope: Scope, kind: TokenKind): Promise<Token> {
    const t = kind === 'registration' ? await this.service.registrationToken(scope) : await this.service.removeToken(scope);
    this.store.tokens.put({ scopeKey: scopeKey(scope), kind, token: t.token, expiresAt: t.expiresAt, fetchedAt: this.clock.now() });
    this.logger?.info({ scope: scopeKey(scope), kind, expiresAt: new Date(t.expiresAt).toISOString() }, 'token refreshed');
    return t;
  }
}

/** The service with registrationToken/removeToken served from the cache. */
export function withTokenCache(service: RunnerService, cache: TokenCache): RunnerService {
  return {
    ...service,
    registrationToken: (scope) => cache.get(scope, 'registration'),
    removeToken: (scope) => cache.get(scope, 'remove'),
  };
}
