import type { RunnerRow } from '../store/types.js';
import { runnerNamePattern } from '../config/names.js';
import type { PoolConfig } from '../config/types.js';
import { describeError } from '../errors.js';
import type { ExecutorDeps } from './executor-deps.js';
import { hostLabel, hostOwnership } from './host-id.js';
import { rememberedScope } from './pool-scopes.js';
import { registrationOf } from './registration.js';
import { viaScaleSet } from './states.js';
import type { JobHookState } from './types.js';

/*
 * Taking runners down, for the executor: the busy-safe retire, cleanup after an exit, leftover
 * resources and stale registrations. Plain functions over the executor's deps: no state of their own.
 */

/** How long a runner gets to stop on its own (SIGINT) before it is killed. */
const GRACE_MS = 30_000;

/** The job hook state; a file the job made unreadable counts as no answer (the reconciler taints it). */
export async function hookState(deps: ExecutorDeps, name: string): Promise<JobHookState | undefined | 'refused'> {
  return deps.kit.readHook(name).catch(() => 'refused' as const);
}

/** A pool's scope and ownership pattern: from its config, or remembered (a removed pool). */
function registrationPool(deps: ExecutorDeps, pool: string): { cfg: Pick<PoolConfig, 'scope'>; pattern: RegExp } | undefined {
  const p = deps.pool(pool);
  if (p) return p;
  const scope = rememberedScope(deps.store, pool);
  return scope ? { cfg: { scope }, pattern: runnerNamePattern(deps.config().host.name, pool) } : undefined;
}

/** Scale-set runners are removed through the Actions service (no REST rate limit); others through REST. */
function deregister(deps: ExecutorDeps, cfg: Pick<PoolConfig, 'scope'>, id: number): Promise<'deleted' | 'busy' | 'gone'> {
  const ss = deps.scaleSets;
  // A removed pool is known by its scope alone: its runners go through REST, which removes any runner.
  const full = 'backend' in cfg ? (cfg as PoolConfig) : undefined;
  return full && viaScaleSet(full) && ss ? ss.deleteRunner(full.name, id) : deps.github.deleteRunner(cfg.scope, id);
}

function keepBusy(deps: ExecutorDeps, name: string, why: string): void {
  deps.store.runners.update(name, { state: 'busy', busy: true, ranJob: true, reason: null });
  deps.logger.info({ runner: name, why }, 'stop cancelled: runner is busy');
}

/**
 * Busy-safe stop: a hook that says busy keeps it; then GitHub deregistration first — a 422
 * means a job landed since we looked, so it is kept — and only after that the stop.
 */
export async function retire(deps: ExecutorDeps, name: string, reason: string): Promise<void> {
  const row = deps.store.runners.get(name);
  if (!row || row.state === 'gone') return;
  deps.store.runners.update(name, { state: 'pending_delete', reason });
  // A refused (vandalised) hook file says nothing either way: GitHub's 422 below decides.
  const hook = await hookState(deps, name);
  if (hook !== 'refused' && hook?.state === 'busy') return keepBusy(deps, name, 'job hook says busy');
  // A removed pool's runner too: its scope is remembered, so it is deregistered first as well.
  const pool = registrationPool(deps, row.pool);
  if (pool) {
    const id = await registrationOf(deps, row, pool, true);
    if (id !== null) {
      const res = await deregister(deps, pool.cfg, id);
      if (res === 'busy') return keepBusy(deps, name, 'GitHub answered 422: a job landed');
      await deps.failpoint?.('retire.deregistered', name);
    }
  }
  deps.store.runners.update(name, { state: 'deleting' });
  await requireBackend(deps, row.backend).destroy(name, { graceMs: GRACE_MS });
  await deps.kit.cleanup(name);
  deps.store.runners.update(name, { state: 'gone' });
  deps.store.events.append({ kind: 'runner.retired', runner: name, pool: row.pool, data: { reason } });
  deps.logger.info({ runner: name, pool: row.pool, reason }, 'runner retired');
  deps.retrigger();
}

/**
 * A resource of this host with no row. Exited: removed. Still running (a removed pool's runner,
 * or one whose row was lost): stopped only the way a retire stops it — a busy hook keeps it,
 * then deregistration first, a 422 keeps it — and looked at again next pass.
 */
export async function orphan(deps: ExecutorDeps, name: string, backend: RunnerRow['backend'], poolName: string, running: boolean): Promise<void> {
  if (running) {
    const hook = await hookState(deps, name);
    if (hook !== 'refused' && hook?.state === 'busy') {
      deps.logger.debug({ runner: name, pool: poolName }, 'leftover runner is busy; it is stopped after its job');
      return;
    }
    const pool = registrationPool(deps, poolName);
    const found = pool ? (await deps.github.listRunners(pool.cfg.scope)).find((g) => g.name === name) : undefined;
    if (pool && found && (await deps.github.deleteRunner(pool.cfg.scope, found.id)) === 'busy') {
      deps.logger.info({ runner: name, pool: poolName }, 'leftover runner took a job (422); it is stopped after its job');
      return;
    }
  }
  await removeResource(deps, name, backend, 'orphan');
}

/** Registration (if it may remain), backend resource, runner dir. */
export async function cleanup(deps: ExecutorDeps, row: RunnerRow, deregisterToo: boolean): Promise<void> {
  const pool = registrationPool(deps, row.pool);
  if (pool && deregisterToo) {
    try {
      // No list call here: a registration not found at once is left to the ghost cleanup.
      const id = await registrationOf(deps, row, pool, false);
      if (id !== null) await deregister(deps, pool.cfg, id);
    } catch (err) {
      deps.logger.warn({ runner: row.name, err: describeError(err) }, 'deregistration failed; ghost cleanup will retry');
    }
  }
  await removeResource(deps, row.name, row.backend, 'cleanup');
}

async function removeResource(deps: ExecutorDeps, name: string, backend: RunnerRow['backend'], why: string): Promise<void> {
  const b = deps.backends[backend];
  if (b) await b.destroy(name, { graceMs: GRACE_MS });
  await deps.kit.cleanup(name);
  if (why === 'orphan') deps.logger.info({ runner: name, backend }, 'removed orphan resource of this host');
}

/** Re-check a ghost with GET before deleting it: the list may be minutes old. */
export async function ghost(deps: ExecutorDeps, poolName: string, id: number, name: string): Promise<void> {
  const pool = deps.pool(poolName);
  if (!pool) return;
  const g = await deps.github.getRunner(pool.cfg.scope, id);
  if (!g || g.name !== name || g.status !== 'offline' || g.busy || !pool.pattern.test(g.name)) return;
  if (deps.hostId && hostOwnership(g.labels, hostLabel(deps.hostId)) === 'other') return;
  const res = await deregister(deps, pool.cfg, id);
  deps.logger.info({ runner: name, pool: poolName, result: res }, 'removed stale registration');
}

/** A pool whose backend this host lacks cannot act: the action fails and is logged. */
export function requireBackend(deps: ExecutorDeps, kind: RunnerRow['backend']) {
  const b = deps.backends[kind];
  if (!b) throw new Error(`backend ${kind} is not available on this host`);
  return b;
}
