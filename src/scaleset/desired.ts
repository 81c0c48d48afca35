/**
 * Scale-set sizing, pure. GitHub's statistics say how many jobs are assigned to the scale set
 * (running ones included); the reference listener keeps min(minRunners + assigned, max) runners.
 * JobCompleted (and so the statistics) can lag minutes behind a runner's own exit, which is the
 * truth: runners of the pool that finished a job after the statistics were taken are taken off.
 */
export function scaleSetDesired(s: { minIdle: number; max: number }, assignedJobs: number, finishedSinceStats = 0): number {
  const assigned = Math.max(0, assignedJobs - finishedSinceStats);
  return Math.max(0, Math.min(s.minIdle + assigned, s.max));
}

/** The capacity advertised in X-ScaleSetMaxCapacity: the pool's max, never 0 (a job queued then is never assigned). */
export function advertisedCapacity(max: number): number {
  return Math.max(1, max);
}
