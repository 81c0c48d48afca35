import { poolRunners } from '../api/status.js';
import type { StatusReport } from '../api/types.js';
import type { FleetConfig } from '../config/types.js';
import type { RequestStats } from '../github/types.js';
import type { Reconciler } from '../reconcile/reconciler.js';
import type { Store } from '../store/types.js';
import type { InstalledTool } from '../tools/types.js';

/** The `/api/v1/status` document: desired vs actual per pool, tokens, tools, GitHub usage. */
export function buildStatus(deps: {
  config: FleetConfig;
  reconciler: Pick<Reconciler, 'pools' | 'queuedFor'>;
  store: Store;
  tokens: { expiries(): { scopeKey: string; kind: 'registration' | 'remove'; expiresAt: number }[] };
  tools: InstalledTool[];
  stats: RequestStats;
  version: string;
  networkChecks?: StatusReport['networkChecks'];
}): StatusReport {
  const { config, reconciler, store } = deps;
  const rows = store.runners.list();
  return {
    host: config.host.name,
    version: deps.version,
    pools: config.pools.map((p) => {
      const rt = reconciler.pools.get(p.name);
      return {
        ...poolRunners(p, rows, { draining: rt?.draining ?? false, queued: reconciler.queuedFor(p.name) }),
        healthy: Boolean(rt?.ready) && (rt?.failures ?? 0) === 0,
        ...(rt?.error ? { error: rt.error } : {}),
        ...(rt?.error && rt.errorCode ? { errorCode: rt.errorCode } : {}),
        ...(rt?.error && rt.hint ? { hint: rt.hint } : {}),
      };
    }),
    draining: [...reconciler.pools.values()].some((p) => p.draining),
    tokens: deps.tokens.expiries().map((t) => ({ scope: t.scopeKey, kind: t.kind, expiresAt: t.expiresAt })),
    tools: deps.tools.map((t) => ({ name: t.name, version: t.version, installed: true, sha256: t.sha256 })),
    networkChecks: deps.networkChecks ?? [],
    github: { rateLimitRemaining: deps.stats.rateLimitRemaining(), requests: deps.stats.total() },
  };
}
