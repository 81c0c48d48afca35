import type { ObservedRunner } from '../backends/types.js';
import { runnerNamePattern } from '../config/names.js';
import type { RunnerRow } from '../store/types.js';
import { busyByRow, COUNTED, desired as desiredFor, PRESENT, STARTED, TRANSITIONAL } from './states.js';
import { cpusAllocated, cpuShortfall, milli } from './capacity.js';
import { hostOwnership } from './host-id.js';
import type { Action, Observation, PoolView } from './types.js';


/** A pass's actions, and the pools the CPU budget keeps from starting all the runners they want (why). */
export interface PassPlan {
  actions: Action[];
  cpuHeld: Map<string, string>;
  /** With a CPU budget: the CPUs allocated once this pass's creates have started. */
  cpu?: { budget: number; allocated: number };
}

/**
 * desired + observed → actions. Pure: no I/O, no clock, no randomness.
 * `inflight` names are being worked on by the executor right now and are left alone.
 */
export function plan(obs: Observation, inflight: ReadonlySet<string> = new Set()): Action[] {
  return planPass(obs, inflight).actions;
}

export function planPass(obs: Observation, inflight: ReadonlySet<string> = new Set()): PassPlan {
  const actions: Action[] = [];
  const cpuHeld = new Map<string, string>();
  const observedByName = new Map(obs.observed.map((o) => [o.name, o]));
  const reaped = new Set<string>();
  const poolNames = new Set(obs.pools.map((p) => p.name));

  for (const row of obs.rows) {
    if (inflight.has(row.name) || obs.unavailable.includes(row.backend)) continue;
    const a = planRow(row, observedByName.get(row.name), obs, poolNames);
    if (!a) continue;
    if (a.kind === 'reap') reaped.add(row.name);
    actions.push(a);
  }

  const rowNames = new Set(obs.rows.map((r) => r.name));
  // Runners adopted in this pass already count towards their pool's size (no duplicate creates).
  const adopting = new Map<string, number>();
  for (const o of obs.observed) {
    if (rowNames.has(o.name) || inflight.has(o.name)) continue;
    const pool = obs.pools.find((p) => p.name === o.pool);
    // Not named like ours (docs/contract.md §5): neither adopted nor removed, whatever its labels say.
    if (!(pool?.namePattern ?? runnerNamePattern(obs.host, o.pool)).test(o.name)) continue;
    if (pool && o.state !== 'exited') {
      actions.push({ kind: 'adopt', name: o.name, pool: o.pool, backend: o.backend });
      adopting.set(o.pool, (adopting.get(o.pool) ?? 0) + 1);
    } else {
      actions.push({ kind: 'orphan', name: o.name, backend: o.backend, pool: o.pool, running: o.state !== 'exited' });
    }
  }

  const room = cpuRoom(obs, reaped, adopting);
  for (const pool of obs.pools) {
    // An engine that is down (e.g. dockerd restarting) gets no new work; its pool waits, unpunished.
    if (obs.unavailable.includes(pool.backend)) continue;
    const rows = obs.rows.filter((r) => r.pool === pool.name && !reaped.has(r.name));
    const admit = (wanted: number) => admitCpus(pool, wanted, room, cpuHeld);
    actions.push(...planPool(pool, rows, obs, inflight, adopting.get(pool.name) ?? 0, admit));
    actions.push(...planGhosts(pool, obs, inflight));
  }
  return { actions, cpuHeld, ...(room ? { cpu: { budget: room.budget / 1000, allocated: (room.budget - room.left) / 1000 } } : {}) };
}

/** What is left of host.capacity.cpus (thousandths) after the runners that exist and those adopted now. */
interface CpuRoom {
  budget: number;
  left: number;
}

function cpuRoom(obs: Observation, reaped: ReadonlySet<string>, adopting: ReadonlyMap<string, number>): CpuRoom | undefined {
  if (!obs.cpu) return undefined;
  const { budget, gonePools } = obs.cpu;
  const cpusOf = (p: string) => obs.pools.find((x) => x.name === p)?.cpus ?? gonePools?.get(p);
  // A runner reaped in this pass has exited: its CPUs are free for its replacement.
  const holding: { pool: string }[] = obs.rows.filter((r) => PRESENT.has(r.state) && !reaped.has(r.name));
  for (const [pool, n] of adopting) for (let i = 0; i < n; i++) holding.push({ pool });
  return { budget: milli(budget), left: milli(budget) - milli(cpusAllocated(holding, cpusOf)) };
}

/** How many of `wanted` new runners fit the CPU budget; pools served first take their share first. */
function admitCpus(pool: PoolView, wanted: number, room: CpuRoom | undefined, held: Map<string, string>): number {
  if (!room || !pool.cpus) return wanted;
  const need = milli(pool.cpus);
  const n = Math.min(wanted, Math.max(0, Math.floor(room.left / need)));
  room.left -= n * need;
  // The figure counts the runners this pass starts: it is what the pool waits on.
  if (n < wanted) held.set(pool.name, cpuShortfall((room.budget - room.left) / 1000, room.budget / 1000, pool.cpus, wanted, n));
  return n;
}

function planRow(
  row: RunnerRow,
  o: ObservedRunner | undefined,
  obs: Observation,
  poolNames: Set<string>,
): Action | null {
  const running = o !== undefined && o.state !== 'exited';
  switch (row.state) {
    case 'pending_create':
    case 'creating':
      // Left mid-create by a previous daemon: keep what runs, clean what does not.
      if (running) return { kind: 'mark', name: row.name, state: 'idle', reason: 'recovered' };
      return { kind: 'reap', name: row.name, pool: row.pool, exitCode: null, reason: 'interrupted-create' };
    case 'pending_delete':
    case 'deleting':
      return { kind: 'retire', name: row.name, pool: row.pool, reason: row.reason ?? 'interrupted-delete' };
    case 'idle':
    case 'busy': {
      if (!running) {
        const exitCode = o?.exitCode ?? row.lastExitCode ?? null;
        return {
          kind: 'reap', name: row.name, pool: row.pool, exitCode, reason: o ? 'exited' : 'vanished',
          ...(o?.signal ? { signal: o.signal } : {}), ...(o?.oomKilled ? { oomKilled: true } : {}),
        };
      }
      // Its hooks can no longer be believed, so neither can its busy state: GitHub decides (the
      // executor deregisters first and keeps it on 422), and the runner is not reused.
      if (obs.tainted?.has(row.name)) {
        return githubBusy(row, obs) ? null : { kind: 'retire', name: row.name, pool: row.pool, reason: 'runner-file-refused' };
      }
      if (!poolNames.has(row.pool)) {
        return isBusy(row, obs) ? null : { kind: 'retire', name: row.name, pool: row.pool, reason: 'pool-removed' };
      }
      const hook = obs.hooks.get(row.name);
      if (hook && hook.state !== row.state) return { kind: 'mark', name: row.name, state: hook.state, reason: 'job-hook' };
      return null;
    }
    default:
      return null;
  }
}

/** Busy if the local hook says so, the row says so, or GitHub says so: any one is enough to keep it. */
export function isBusy(row: RunnerRow, obs: Observation): boolean {
  if (busyByRow(row)) return true;
  if (obs.hooks.get(row.name)?.state === 'busy') return true;
  return githubBusy(row, obs);
}

function githubBusy(row: RunnerRow, obs: Observation): boolean {
  return obs.github?.get(row.pool)?.find((g) => g.name === row.name)?.busy === true;
}

/**
 * Runners GitHub shows busy before their first job hook ran: each just took a job, almost surely
 * one still counted as queued (its in_progress delivery and hook are seconds away). Counting
 * both would start a runner too many. Jobs their hooks reported are already claimed upstream.
 */
function justTookJob(live: RunnerRow[], obs: Observation): number {
  return live.filter((r) => !busyByRow(r) && !obs.hooks.has(r.name) && githubBusy(r, obs)).length;
}

function planPool(
  pool: PoolView, rows: RunnerRow[], obs: Observation, inflight: ReadonlySet<string>, adopting: number, admit: (wanted: number) => number,
): Action[] {
  const live = rows.filter((r) => COUNTED.has(r.state));
  const liveCount = live.length + adopting;
  const busy = live.filter((r) => isBusy(r, obs));
  const idle = live.filter((r) => STARTED.has(r.state) && !isBusy(r, obs) && !inflight.has(r.name));
  const queued = Math.max(0, pool.queuedJobs - justTookJob(live, obs));
  const desired = desiredFor(pool, { draining: pool.draining, busy: busy.length, queued, ...(pool.assignedJobs !== undefined ? { assigned: pool.assignedJobs } : {}) });
  const out: Action[] = [];
  // Host short of disk/memory: no new runner, and no version roll (its replacement could not start).
  const canCreate = pool.canCreate && !pool.hostCapacity;

  if (liveCount < desired && canCreate) {
    const n = admit(desired - liveCount);
    for (let i = 0; i < n; i++) out.push({ kind: 'create', pool: pool.name, reason: 'below-desired' });
    return out;
  }

  let surplus = liveCount - desired;
  if (surplus > 0) {
    const retirable = idle
      .filter((r) => pool.draining || pool.size !== undefined || idleLongEnough(r, pool, obs))
      .sort(retireOrder(pool));
    for (const r of retirable.slice(0, surplus)) {
      out.push({ kind: 'retire', name: r.name, pool: pool.name, reason: pool.draining ? 'drain' : 'scale-down' });
      surplus--;
    }
    return out;
  }

  // Version roll: one idle runner at a time, only while the pool is otherwise settled,
  // so it never drops below its size minus one.
  const settled = rows.every((r) => !TRANSITIONAL.has(r.state) && !inflight.has(r.name));
  if (pool.targetVersion && settled && !pool.draining && canCreate) {
    const old = idle.filter((r) => r.version !== null && r.version !== pool.targetVersion).sort(retireOrder(pool));
    if (old[0]) out.push({ kind: 'retire', name: old[0].name, pool: pool.name, reason: 'version-roll' });
  }
  return out;
}

function idleLongEnough(r: RunnerRow, pool: PoolView, obs: Observation): boolean {
  const since = obs.hooks.get(r.name)?.at ?? r.startedAt ?? r.updatedAt;
  return obs.now - since >= (pool.scale?.idleTimeoutMs ?? 0);
}

function retireOrder(pool: PoolView) {
  return (a: RunnerRow, b: RunnerRow): number => {
    const aOld = a.version !== pool.targetVersion ? 0 : 1;
    const bOld = b.version !== pool.targetVersion ? 0 : 1;
    return aOld - bOld || (a.startedAt ?? a.createdAt) - (b.startedAt ?? b.createdAt);
  };
}

function planGhosts(pool: PoolView, obs: Observation, inflight: ReadonlySet<string>): Action[] {
  const regs = obs.github?.get(pool.name);
  if (!regs) return [];
  const known = new Set([...obs.rows.map((r) => r.name), ...obs.observed.map((o) => o.name), ...inflight]);
  return regs
    .filter((g) => pool.namePattern.test(g.name) && g.status === 'offline' && !g.busy && !known.has(g.name))
    // Named like ours is not enough: another host may use the same names, and its id says so.
    // A registration with no host id at all predates host ids: judged by its name, as before.
    .filter((g) => !obs.hostLabel || hostOwnership(g.labels, obs.hostLabel) !== 'other')
    .map((g) => ({ kind: 'ghost' as const, pool: pool.name, githubId: g.id, name: g.name }));
}
