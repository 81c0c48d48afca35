import type { Clock } from '../clock.js';
import { describeError, FleetError } from '../errors.js';
import { scopeKey } from '../github/scope.js';
import { ScaleSetClient } from '../github/scaleset/client.js';
import type { RequestRecord } from '../github/stats.js';
import type { Scope, Token } from '../github/types.js';
import type { PoolConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import type { ScaleSetPort } from '../reconcile/kit.js';
import { viaScaleSet } from '../reconcile/states.js';
import type { Store } from '../store/types.js';
import { ScaleSetListener, type ListenerDeps } from './listener.js';
import type { ListenerEvents, ListenerPool, ListenerStatus } from './types.js';

export interface ScaleSetManagerDeps {
  apiUrl: string;
  githubUrl: string;
  host: string;
  store: Store;
  clock: Clock;
  logger: Logger;
  fetch?: typeof fetch;
  registrationToken: (scope: Scope) => Promise<Token>;
  onRequest?: (r: RequestRecord) => void;
  events: ListenerEvents;
  /** Listener tuning (tests, bench). */
  listener?: Pick<ListenerDeps, 'holdMs' | 'watchdogMs' | 'backoffBaseMs' | 'backoffMaxMs' | 'conflictRetryMs'>;
  retryBaseMs?: number;
}

/**
 * The scale-set side of the daemon: one client per scope, one listener per scale-set pool, and
 * what the executor asks of them (JIT configs and deregistration through the scale set).
 */
export class ScaleSetManager implements ScaleSetPort {
  /** Set by deleteScaleSets (deregister --all): no listener starts again until reset(). */
  private decommissioned = false;
  private readonly clients = new Map<string, ScaleSetClient>();
  private readonly listeners = new Map<string, ScaleSetListener>();
  private readonly scopes = new Map<string, Scope>();

  constructor(private readonly deps: ScaleSetManagerDeps) {}

  client(scope: Scope): ScaleSetClient {
    const key = scopeKey(scope);
    let c = this.clients.get(key);
    if (!c) {
      const d = this.deps;
      c = new ScaleSetClient({
        apiUrl: d.apiUrl, githubUrl: d.githubUrl, scope, registrationToken: d.registrationToken, logger: d.logger, clock: d.clock,
        ...(d.fetch ? { fetch: d.fetch } : {}), ...(d.onRequest ? { onRequest: d.onRequest } : {}),
        ...(d.retryBaseMs !== undefined ? { retryBaseMs: d.retryBaseMs } : {}),
      });
      this.clients.set(key, c);
    }
    return c;
  }

  /** The scale-set pools among `pools` (those that passed their checks), as listeners see them. */
  syncPools(pools: PoolConfig[]): void {
    this.sync(pools.filter(viaScaleSet).map((p) => ({ name: p.name, scope: p.scope, runnerGroup: p.runnerGroup, labels: [...p.labels], max: p.scale?.max ?? 1 })));
  }

  /** A reloaded config is fresh intent: scale sets may be created again after a deregister --all. */
  reset(): void {
    this.decommissioned = false;
  }

  /** Start listeners for new scale-set pools, update changed ones, stop those no longer configured. */
  sync(pools: ListenerPool[]): void {
    if (this.decommissioned) return;
    const want = new Map(pools.map((p) => [p.name, p]));
    for (const [name, l] of this.listeners) {
      const p = want.get(name);
      if (p && scopeKey(p.scope) === scopeKey(this.scopes.get(name)!)) l.update(p);
      else {
        void l.stop();
        this.listeners.delete(name);
      }
    }
    for (const p of pools) {
      if (this.listeners.has(p.name)) continue;
      const d = this.deps;
      const l = new ScaleSetListener(p, { client: this.client(p.scope), store: d.store, clock: d.clock, logger: d.logger, host: d.host, events: d.events, ...d.listener });
      this.listeners.set(p.name, l);
      this.scopes.set(p.name, p.scope);
      l.start();
    }
  }

  has(pool: string): boolean {
    return this.listeners.has(pool);
  }

  ready(pool: string): boolean {
    const id = this.listeners.get(pool)?.scaleSetId;
    return id !== null && id !== undefined;
  }

  statuses(): ListenerStatus[] {
    return [...this.listeners.values()].map((l) => l.status());
  }

  /** totalAssignedJobs of the pool's last statistics, and when they were recorded. */
  assigned(pool: string): { jobs: number; at: number } | null {
    const s = this.deps.store.scaleSets.get(pool);
    return s ? { jobs: s.statistics.totalAssignedJobs ?? 0, at: s.updatedAt } : null;
  }

  /** A JIT runner of the pool's scale set; GITHUB_NOT_FOUND until the scale set exists. */
  async jitConfig(pool: string, name: string): Promise<{ runnerId: number; encoded: string }> {
    const l = this.listeners.get(pool);
    const id = l?.scaleSetId;
    if (!l || id === null || id === undefined) throw new FleetError('GITHUB_NOT_FOUND', `scale set of pool ${pool} is not ready yet`);
    const jit = await this.client(this.scopes.get(pool)!).generateJitConfig(id, name);
    return { runnerId: jit.runnerId, encoded: jit.encoded };
  }

  /** Deregister through the Actions service: JobStillRunningException → 'busy' (keep it). */
  deleteRunner(pool: string, id: number): Promise<'deleted' | 'busy' | 'gone'> {
    const key = this.deps.store.scaleSets.get(pool)?.scopeKey;
    const scope = this.scopes.get(pool) ?? (key ? parseScopeKey(key) : undefined);
    if (!scope) return Promise.reject(new FleetError('GITHUB_NOT_FOUND', `pool ${pool} has no scale set`));
    return this.client(scope).deleteAgent(id);
  }

  /**
   * deregister --all: stop the listeners, then delete every scale set this host created (rows in
   * the store), so GitHub routes nothing more here. Call once the pools' runners are gone.
   */
  async deleteScaleSets(only: (pool: string) => boolean = () => true): Promise<string[]> {
    this.decommissioned = true;
    await this.stop();
    const deleted: string[] = [];
    for (const row of this.deps.store.scaleSets.list().filter((r) => only(r.pool))) {
      const scope = parseScopeKey(row.scopeKey);
      try {
        await this.client(scope).deleteScaleSet(row.scaleSetId);
        this.deps.store.scaleSets.remove(row.pool);
        deleted.push(row.name);
        this.deps.logger.info({ pool: row.pool, scaleSet: row.name }, 'scale set deleted');
      } catch (err) {
        this.deps.logger.warn({ pool: row.pool, scaleSet: row.name, err: describeError(err) }, 'scale set delete failed');
      }
    }
    return deleted;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.listeners.values()].map((l) => l.stop()));
    this.listeners.clear();
  }
}

/** org:acme | repo:o/r | enterprise:e → Scope (scale sets of a pool no longer configured). */
export function parseScopeKey(key: string): Scope {
  const i = key.indexOf(':');
  const kind = key.slice(0, i);
  const name = key.slice(i + 1);
  if (kind === 'repo') {
    const [owner, repo] = name.split('/') as [string, string];
    return { kind: 'repo', owner, repo };
  }
  return kind === 'enterprise' ? { kind: 'enterprise', enterprise: name } : { kind: 'org', org: name };
}
