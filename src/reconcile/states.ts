import type { Sizing } from '../config/types.js';
import type { RunnerRow, RunnerState } from '../store/types.js';

/**
 * The one vocabulary for runner state and desired size: the planner, the daemon's status and
 * the store's status all read these, so `status` shows what the planner aims for.
 */

/** Count towards a pool's size: being started or running. */
export const COUNTED: ReadonlySet<RunnerState> = new Set(['pending_create', 'creating', 'idle', 'busy']);
/** Being stopped and removed: still holds a backend resource, no longer counted. */
export const LEAVING: ReadonlySet<RunnerState> = new Set(['pending_delete', 'deleting']);
/** A backend resource may exist (counted or leaving). */
export const PRESENT: ReadonlySet<RunnerState> = new Set([...COUNTED, ...LEAVING]);
/** Mid-operation: the pool is not settled while any row is in one of these. */
export const TRANSITIONAL: ReadonlySet<RunnerState> = new Set(['pending_create', 'creating', ...LEAVING]);
/** Started and registered: a hook or GitHub can tell idle from busy. */
export const STARTED: ReadonlySet<RunnerState> = new Set(['idle', 'busy']);

export const isCounted = (r: Pick<RunnerRow, 'state'>): boolean => COUNTED.has(r.state);
export const isPresent = (r: Pick<RunnerRow, 'state'>): boolean => PRESENT.has(r.state);
/** What the store alone says: state busy or the busy flag a job hook set. */
export const busyByRow = (r: Pick<RunnerRow, 'state' | 'busy'>): boolean => r.state === 'busy' || r.busy;

/** What the pool needs now beyond its resting size. */
export interface Demand {
  draining: boolean;
  /** Runners running a job. */
  busy: number;
  /** Jobs waiting for a runner of this pool. */
  queued: number;
  /** scale.via: scaleset: jobs GitHub assigned to the scale set (running ones included). */
  assigned?: number;
}

const AT_REST: Demand = { draining: false, busy: 0, queued: 0 };

/**
 * Runners the pool should have: none while draining, its size, for a webhook-scaled pool the
 * busy ones plus max(minIdle, queued), for a scale-set pool minIdle plus the jobs assigned to
 * the scale set (the reference listener's rule); both capped at max.
 */
export function desired(pool: Sizing, demand: Demand = AT_REST): number {
  if (demand.draining) return 0;
  if (pool.size !== undefined) return pool.size;
  const s = pool.scale;
  if (s.via === 'scaleset') return Math.min(s.max, s.minIdle + Math.max(0, demand.assigned ?? 0));
  return Math.min(s.max, demand.busy + Math.max(s.minIdle, demand.queued));
}

/** A pool served through a GitHub runner scale set rather than webhooks. */
export const viaScaleSet = (pool: Sizing): boolean => pool.scale?.via === 'scaleset';

/** Runners to keep with no demand at all (what `plan` and `validate` show). */
export const atRest = (pool: Sizing): number => desired(pool);

/** Upper bound of runners a pool may have. */
export function maxRunners(pool: Sizing): number {
  return pool.size ?? pool.scale.max;
}
