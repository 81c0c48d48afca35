import { lastExits, poolRunners, scaleSetStatus } from '../api/status.js';
import type { StatusReport } from '../api/types.js';
import type { FleetConfig } from '../config/types.js';
import type { RequestStats } from '../github/types.js';
import type { Reconciler } from '../reconcile/reconciler.js';
import type { Store } from '../store/types.js';
import type { ListenerStatus } from '../scaleset/types.js';
import type { InstalledTool } from '../tools/types.js';

/** The `/api/v1/status` document: desired vs actual per pool, tokens, tools, GitHub usage. */
export function buildStatus(deps: {
  config: FleetConfig;
  reconciler: Pick<Reconciler, 'pools' | 'queuedFor'> & Partial<Pick<Reconciler, 'foreign'>>;
  store: Store;
  tokens: { expiries(): { scopeKey: string; kind: 'registration' | 'remove'; expiresAt: number }[] };
  tools: InstalledTool[];
  stats: RequestStats;
  version: string;
  /** No runner version is ready and the last download failed (e.g. DISK_FULL): why no pool starts. */
  runnerError?: { code: string; message: string };
  /** Tools that failed to install (kept off PATH, retried with backoff). */
  toolErrors?: { name: string; version: string; code: string; message: string }[];
  networkChecks?: StatusReport['networkChecks'];
  hostId?: string;
  /** Scale-set listeners (scale.via: scaleset pools). */
  scaleSets?: ListenerStatus[];
  /** deregister --all in progress: scale sets are deleted once their runners are gone. */
  deregistering?: boolean;
}): StatusReport {
  const { config, reconciler, store } = deps;
  const rows = store.runners.list();
  return {
    host: config.host.name,
    ...(deps.hostId ? { hostId: deps.hostId } : {}),
    version: deps.version,
    pools: config.pools.map((p) => {
      const rt = reconciler.pools.get(p.name);
      const error = rt?.error
        ? { error: rt.error, code: rt.errorCode, hint: rt.hint }
        : rt?.capacity
          ? { error: rt.capacity, code: 'HOST_CAPACITY', hint: null }
          : runnerErrorOf(deps.runnerError);
      const foreign = (reconciler.foreign?.get(p.name) ?? []).map((name) => ({ name, message: `another host uses the name ${name}` }));
      const ss = scaleSetStatus(p, store, deps.scaleSets?.find((l) => l.pool === p.name));
      // A scale set deleted by deregister --all is not shown any more.
      const shown = ss && !(deps.deregistering && ss.id === null) ? ss : undefined;
      return {
        ...poolRunners(p, rows, { draining: Boolean(rt?.draining || rt?.exposed), queued: reconciler.queuedFor(p.name), ...(ss ? { assigned: ss.statistics?.totalAssignedJobs ?? 0 } : {}) }),
        ...(shown ? { scaleSet: shown } : {}),
        healthy: Boolean(rt?.healthy) && !deps.runnerError,
        draining: rt?.draining ?? false,
        ...(error ? { error: error.error } : {}),
        ...(error?.code ? { errorCode: error.code } : {}),
        ...(error?.hint ? { hint: error.hint } : {}),
        ...(foreign.length ? { foreign } : {}),
        lastExits: lastExits(store, p.name),
      };
    }),
    draining: reconciler.pools.size > 0 && [...reconciler.pools.values()].every((p) => p.draining),
    tokens: deps.tokens.expiries().map((t) => ({ scope: t.scopeKey, kind: t.kind, expiresAt: t.expiresAt })),
    tools: [
      ...deps.tools.map((t) => ({ name: t.name, version: t.version, installed: true, sha256: t.sha256 })),
      ...(deps.toolErrors ?? []).map((t) => ({ name: t.name, version: t.version, installed: false, sha256: null, error: t.message, errorCode: t.code })),
    ],
    networkChecks: deps.networkChecks ?? [],
    github: { rateLimitRemaining: deps.stats.rateLimitRemaining(), requests: deps.stats.total(), actionsService: deps.stats.actionsService?.() ?? 0 },
    ...(deps.deregistering ? { deregistering: true } : {}),
  };
}

function runnerErrorOf(e: { code: string; message: string } | undefined): { error: string; code: string; hint: string | null } | undefined {
  return e && { error: `no runner version ready: ${e.message}`, code: e.code, hint: null };
}
