import { desiredCount, hostArch, scopeKey } from '../config/names.js';
import type { FleetConfig } from '../config/types.js';
import type { RunnerRow, Store } from '../store/types.js';
import type { PoolStatus, RunnerStatus, StatusReport } from './types.js';

/** States in which a runner counts as present (being started or running). */
const PRESENT = new Set(['pending_create', 'creating', 'idle', 'busy']);

export function runnerStatus(r: RunnerRow): RunnerStatus {
  return {
    name: r.name,
    state: r.state,
    backend: r.backend,
    githubId: r.githubId,
    busy: r.busy,
    labels: r.labels,
    startedAt: r.startedAt,
    version: r.version,
  };
}

/**
 * What the state database alone can say: the desired picture from the config, runners as last
 * recorded, cached token expiries and installed tools. Live facts (network checks, rate limit,
 * pool errors the daemon only keeps in memory) are empty. The daemon may start from this and
 * overlay what it knows live.
 */
export function statusFromStore(cfg: FleetConfig, store: Store, version: string): StatusReport {
  const pools: PoolStatus[] = cfg.pools.map((p) => {
    const rows = store.runners.list({ pool: p.name });
    const failed = rows.filter((r) => r.state === 'failed').sort((a, b) => b.updatedAt - a.updatedAt)[0];
    return {
      name: p.name,
      backend: p.backend,
      scope: scopeKey(p.scope),
      desired: desiredCount(p),
      actual: rows.filter((r) => PRESENT.has(r.state)).length,
      healthy: !failed,
      ...(failed?.lastError ? { error: failed.lastError } : {}),
      runners: rows.map(runnerStatus),
    };
  });
  const arch = safeArch();
  const stored = store.tools.list();
  return {
    host: cfg.host.name,
    version,
    pools,
    tokens: store.tokens.list().map((t) => ({ scope: t.scopeKey, kind: t.kind, expiresAt: t.expiresAt })),
    tools: cfg.tools.map((t) => {
      const hit = stored.find((s) => s.name === t.name && s.version === t.version && (!arch || s.arch === arch));
      return { name: t.name, version: t.version, installed: !!hit, sha256: hit?.sha256 ?? null };
    }),
    networkChecks: [],
    github: { rateLimitRemaining: null, requests: 0 },
  };
}

function safeArch(): string | undefined {
  try {
    return hostArch();
  } catch {
    return undefined;
  }
}
