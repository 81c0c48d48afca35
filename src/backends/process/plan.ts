import type { PoolOf } from '../../config/types.js';

export interface ProcessPlan {
  kind: 'process';
  user: string;
  group?: string;
}

export function processPlan(pool: PoolOf<'process'>): { backend: ProcessPlan; warnings: string[] } {
  if (pool.process) {
    const { user, group } = pool.process;
    return { backend: { kind: 'process', user, ...(group ? { group } : {}) }, warnings: [] };
  }
  return {
    backend: { kind: 'process', user: "the daemon's user" },
    warnings: ["jobs run as the daemon's own user: they can read its state database, config and credentials and write the runner cache and tools (set process.user)"],
  };
}

export function processPlanRows(b: ProcessPlan): Array<[string, string]> {
  return [['backend', `child process of the daemon, as ${b.user}${b.group ? `:${b.group}` : ''}`]];
}
