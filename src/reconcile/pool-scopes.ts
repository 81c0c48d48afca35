import type { Scope } from '../config/types.js';
import type { Store } from '../store/types.js';

/**
 * The GitHub scope of every pool this host has run, kept in the store: a pool removed from
 * the config (by SIGHUP, or while the daemon was down) still has runners registered in its
 * scope, and they must be deregistered before they are stopped, like any other drain.
 */
const key = (pool: string) => `pool_scope:${pool}`;

export function rememberScope(store: Pick<Store, 'meta'>, pool: string, scope: Scope): void {
  const value = JSON.stringify(scope);
  if (store.meta.get(key(pool)) !== value) store.meta.set(key(pool), value);
}

export function rememberedScope(store: Pick<Store, 'meta'>, pool: string): Scope | undefined {
  const v = store.meta.get(key(pool));
  if (!v) return undefined;
  try {
    return JSON.parse(v) as Scope;
  } catch {
    return undefined;
  }
}
