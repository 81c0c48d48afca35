import type { Logger } from '../log.js';

/**
 * Named points between the two steps of an action whose first step survives a crash
 * (create then start, register then create, deregister then destroy). Crash-recovery tests
 * arm one with RUNNER_FLEET_FAILPOINTS=point[,point] and SIGKILL the daemon once it says it
 * is parked there; unarmed, a point costs one Set lookup.
 */
export type FailpointName = 'docker.created' | 'process.spawned' | 'create.registered' | 'create.started' | 'retire.deregistered';

export type Failpoint = (point: FailpointName, runner: string) => Promise<void>;

export const noFailpoints: Failpoint = () => Promise.resolve();

export function failpointsFromEnv(env: NodeJS.ProcessEnv, logger: Logger): Failpoint {
  const armed = new Set((env.RUNNER_FLEET_FAILPOINTS ?? '').split(',').map((s) => s.trim()).filter(Boolean));
  if (armed.size === 0) return noFailpoints;
  logger.warn({ failpoints: [...armed] }, 'failpoints armed (crash tests only)');
  return (point, runner) => {
    if (!armed.has(point)) return Promise.resolve();
    logger.warn({ failpoint: point, runner }, 'failpoint reached: parked until killed');
    // Parked for good: the test kills the process here.
    return new Promise<void>(() => undefined);
  };
}
