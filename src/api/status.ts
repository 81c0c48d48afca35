import { hostArch, scopeKey } from '../config/names.js';
import type { FleetConfig, PoolConfig } from '../config/types.js';
import { busyByRow, desired, isCounted, isPresent, viaScaleSet } from '../reconcile/states.js';
import type { ListenerStatus } from '../scaleset/types.js';
import type { RunnerRow, Store } from '../store/types.js';
import { readHold } from '../reconcile/drain-hold.js';
import type { PoolStatus, RunnerExitStatus, RunnerStatus, ScaleSetStatus, StatusReport } from './types.js';

export function runnerStatus(r: RunnerRow): RunnerStatus {
  return {
    name: r.name,
    state: r.state,
    backend: r.backend,
    githubId: r.githubId,
    busy: busyByRow(r),
    labels: r.labels,
    startedAt: r.startedAt,
    version: r.version,
  };
}

/**
 * A pool's counts and runners from its rows, the same whether the daemon or the store answers:
 * desired is what the planner aims for (states.ts), actual the runners it counts towards it,
 * runners every one that still holds a backend resource.
 */
export function poolRunners(
  p: PoolConfig,
  rows: RunnerRow[],
  demand: { draining: boolean; queued: number; assigned?: number },
): Pick<PoolStatus, 'name' | 'backend' | 'scope' | 'desired' | 'actual' | 'runners'> {
  const mine = rows.filter((r) => r.pool === p.name && isPresent(r));
  const counted = mine.filter(isCounted);
  return {
    name: p.name,
    backend: p.backend,
    scope: scopeKey(p.scope),
    desired: desired(p, { ...demand, busy: counted.filter(busyByRow).length }),
    actual: counted.length,
    runners: mine.map(runnerStatus),
  };
}

/**
 * What the state database alone can say: the desired picture from the config, runners as last
 * recorded, cached token expiries and installed tools. What only the running daemon knows
 * (network checks, rate limit, pool errors and drains kept in memory, queued jobs) is empty.
 */
export function statusFromStore(cfg: FleetConfig, store: Store, version: string): StatusReport {
  const rows = store.runners.list();
  const hold = readHold(store.meta);
  const pools: PoolStatus[] = cfg.pools.map((p) => {
    const failed = rows.filter((r) => r.pool === p.name && r.state === 'failed').sort((a, b) => b.updatedAt - a.updatedAt)[0];
    const ss = scaleSetStatus(p, store);
    return {
      ...poolRunners(p, rows, { draining: hold.all || hold.pools.includes(p.name), queued: 0, ...(ss ? { assigned: ss.statistics?.totalAssignedJobs ?? 0 } : {}) }),
      ...(ss ? { scaleSet: ss } : {}),
      // Health is a live fact: the database cannot vouch for a pool nobody is running.
      healthy: null,
      draining: hold.all || hold.pools.includes(p.name),
      ...(failed?.lastError ? { error: failed.lastError } : {}),
      lastExits: lastExits(store, p.name),
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
    draining: cfg.pools.length > 0 && pools.every((p) => p.draining),
  };
}

const EXITS_SHOWN = 5;

export function lastExits(store: Store, pool: string): RunnerExitStatus[] {
  return store.events.recent(EXITS_SHOWN, { kind: 'runner.exited', pool }).map((e) => ({
    runner: e.runner ?? '',
    at: e.at,
    cause: typeof e.data.cause === 'string' ? e.data.cause : 'unknown',
    exitCode: typeof e.data.exitCode === 'number' ? e.data.exitCode : null,
    signal: typeof e.data.signal === 'string' ? e.data.signal : null,
    meaning: typeof e.data.meaning === 'string' ? e.data.meaning : '',
  }));
}

/**
 * A scale-set pool's scale set as the store last recorded it, with the running listener's view
 * (state, last poll, error) when the daemon has one; without it the listener reads 'stopped'.
 */
export function scaleSetStatus(p: PoolConfig, store: Store, listener?: ListenerStatus): ScaleSetStatus | undefined {
  if (!viaScaleSet(p)) return undefined;
  const row = store.scaleSets.get(p.name);
  return {
    name: row?.name ?? listener?.scaleSet ?? p.name,
    id: listener?.scaleSetId ?? row?.scaleSetId ?? null,
    listener: listener?.state ?? 'stopped',
    lastPollAt: listener?.lastPollAt ?? null,
    statistics: row ? row.statistics : null,
    lastMessageId: row?.lastMessageId ?? 0,
    ...(listener?.error ? { error: listener.error } : {}),
  };
}

function safeArch(): string | undefined {
  try {
    return hostArch();
  } catch {
    return undefined;
  }
}
