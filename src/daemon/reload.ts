import type { BackendKind, FleetConfig } from '../config/types.js';

/**
 * SIGHUP: which settings changed, and which of them a running daemon cannot take. A reload is
 * applied whole or refused whole (nothing half-applied); a refusal names the keys that need a
 * restart, in the log and in status, and the daemon goes on with the config it has.
 */

/** Where the daemon itself lives: moving it is a restart, not a reload. */
const RESTART_ONLY = ['host.name', 'host.dataDir', 'api.listen', 'github.url', 'github.apiUrl'] as const;

/** Compared one by one; secrets are compared, never copied into the result (only key names are). */
const KEYS: Record<string, (c: FleetConfig) => unknown> = {
  'host.name': (c) => c.host.name,
  'host.dataDir': (c) => c.host.dataDir,
  'api.listen': (c) => c.api.listen,
  'api.token': (c) => c.api.token,
  'api.webhookSecret': (c) => c.api.webhookSecret,
  'github.url': (c) => c.github.url,
  'github.apiUrl': (c) => c.github.apiUrl,
  'github.auth': (c) => c.github.auth,
  'network.proxy': (c) => c.network.proxy,
  'network.caFile': (c) => c.network.caFile,
  'network.dns': (c) => c.network.dns,
  'network.extraHosts': (c) => c.network.extraHosts,
  'network.checks': (c) => c.network.checks,
  runner: (c) => c.runner,
  tokens: (c) => c.tokens,
  tools: (c) => c.tools,
  reconcile: (c) => c.reconcile,
  shutdown: (c) => c.shutdown,
  pools: (c) => c.pools,
  backends: (c) => backendKinds(c),
};

export interface ConfigChanges {
  changed: string[];
  restartRequired: string[];
}

export function configChanges(from: FleetConfig, to: FleetConfig): ConfigChanges {
  const changed = Object.entries(KEYS)
    .filter(([, get]) => JSON.stringify(get(from)) !== JSON.stringify(get(to)))
    .map(([k]) => k);
  const restart = new Set<string>(RESTART_ONLY);
  return { changed, restartRequired: changed.filter((k) => restart.has(k)) };
}

export function backendKinds(c: FleetConfig): BackendKind[] {
  return [...new Set(c.pools.map((p) => p.backend))].sort();
}

/** The last reload's outcome, for status. Key names only, never values. */
export interface ReloadOutcome {
  at: number;
  result: 'applied' | 'refused';
  changed: string[];
  /** Keys whose change needs a restart (the reload was refused because of them). */
  restartRequired: string[];
  /** Why a reload was refused other than restart-only keys (a CA file that does not parse...). */
  error?: string;
}

/**
 * An object whose methods call whatever `current()` returns at call time: parts built once
 * (token cache, reconciler) keep using the GitHub client and HTTP stack a reload replaces.
 */
export function forwarding<T extends object>(current: () => T): T {
  return new Proxy({} as T, {
    get: (_t, key) => {
      const v = (current() as Record<string | symbol, unknown>)[key];
      return typeof v === 'function' ? (...args: unknown[]) => (current() as Record<string | symbol, (...a: unknown[]) => unknown>)[key]!(...args) : v;
    },
  });
}

/**
 * The parts of a reload that can fail, built before anything is swapped: a new HTTP stack when
 * the proxy or CA changed (a CA file that does not parse refuses the reload), and the backends
 * of kinds no pool used before.
 */
export async function prepareReload<H extends { close(): Promise<void> }, B>(
  cfg: FleetConfig,
  changed: string[],
  have: Partial<Record<BackendKind, unknown>>,
  fixedBackends: boolean,
  newHttp: (cfg: FleetConfig) => H,
  newBackend: (kind: BackendKind) => Promise<B>,
): Promise<{ http?: H; backends: [BackendKind, B][] }> {
  const missing = backendKinds(cfg).filter((k) => !have[k]);
  if (missing.length && fixedBackends) throw new Error(`backends ${missing.join(', ')} cannot be added to this daemon`);
  const http = changed.includes('network.proxy') || changed.includes('network.caFile') ? newHttp(cfg) : undefined;
  const backends: [BackendKind, B][] = [];
  try {
    for (const k of missing) backends.push([k, await newBackend(k)]);
  } catch (err) {
    await http?.close().catch(() => undefined);
    throw err;
  }
  return { ...(http ? { http } : {}), backends };
}
