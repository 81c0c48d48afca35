import type { Clock } from '../clock.js';

/**
 * A cache for @octokit/auth-app installation tokens. auth-app stores
 * `token|createdAt|expiresAt|...` strings and keeps them 59 minutes by wall time; this one
 * drops an entry once it has less than `marginMs` left by the injected clock, so a fresh
 * installation token is fetched before the old one expires.
 */
export function appTokenCache(clock: Clock, marginMs: number) {
  const entries = new Map<string, string>();
  return {
    get(key: string): string | undefined {
      const value = entries.get(key);
      if (value === undefined) return undefined;
      const expiresAt = Date.parse(value.split('|')[2] ?? '');
      if (!Number.isFinite(expiresAt) || expiresAt - clock.now() < marginMs) {
        entries.delete(key);
        return undefined;
      }
      return value;
    },
    set(key: string, value: string): void {
      entries.set(key, value);
    },
  };
}
