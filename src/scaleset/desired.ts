/** The capacity advertised in X-ScaleSetMaxCapacity: the pool's max, never 0 (a job queued then is never assigned). */
export function advertisedCapacity(max: number): number {
  return Math.max(1, max);
}

/**
 * totalAssignedJobs corrected for lag: JobCompleted (and so the statistics) can arrive minutes
 * after a runner's own exit, which is the truth. Runners of the pool that finished a job after
 * the statistics were taken are taken off, so no replacement starts for a job already done.
 */
export function assignedNow(assignedJobs: number, finishedSinceStats: number): number {
  return Math.max(0, assignedJobs - finishedSinceStats);
}
