import { DEFAULT_PROCESS_ISOLATION, type PoolOf, type RunnerLimits } from '../../config/types.js';
import { neededControllers, probeCgroups } from './cgroup.js';
import { detectScopes, scopeUnit } from './scope.js';
import { dockerSocketPlanWarnings } from '../socket-access.js';

export interface ProcessPlan {
  kind: 'process';
  user: string;
  group?: string;
  /** pools[].limits: the cgroup each runner gets, or why the daemon cannot make one. */
  limits?: { cgroup: string; applied: string } | { refused: string };
  /** With process.user. per-runner: each runner its own rf-* user in the pool user's groups (the default); shared: all run as user. */
  isolation?: 'per-runner' | 'shared';
}

export function processPlan(pool: PoolOf<'process'>, exampleRunner = '<runner>'): { backend: ProcessPlan; warnings: string[] } {
  const limits = pool.limits ? limitsPlan(pool.limits, exampleRunner) : undefined;
  const lim = limits ? { limits } : {};
  if (pool.process) {
    const { user, group } = pool.process;
    const isolation = pool.process.isolation ?? DEFAULT_PROCESS_ISOLATION;
    const many = pool.scale ? pool.scale.max > 1 : pool.size > 1;
    const warnings = isolation === 'shared' && many ? [`runners of this pool share ${user}: a job can read its siblings' roots (.credentials_rsaparams) and process environments (process.isolation: per-runner)`] : [];
    return { backend: { kind: 'process', user, ...(group ? { group } : {}), isolation, ...lim }, warnings: [...warnings, ...dockerSocketPlanWarnings(user)] };
  }
  return {
    backend: { kind: 'process', user: "the daemon's user", ...lim },
    warnings: ["jobs run as the daemon's own user: they can read its state database, config and credentials and write the runner cache and tools (set process.user)"],
  };
}

function limitsPlan(l: RunnerLimits, runner: string): NonNullable<ProcessPlan['limits']> {
  const applied = [l.memory ? `memory ${mib(l.memory)}` : '', l.cpus ? `cpus ${l.cpus}` : '', l.pids ? `pids ${l.pids}` : ''].filter(Boolean).join(', ');
  // A root daemon on a systemd host: the runner's scope carries them (scope.ts).
  if (detectScopes().systemdRun) return { cgroup: `systemd scope ${scopeUnit(runner)}`, applied };
  const found = probeCgroups(neededControllers(l));
  if ('why' in found) return { refused: found.why };
  const h = found.host;
  const where = h.version === 2 ? `cgroup v2 ${h.parent}/${runner}` : `cgroup v1 ${Object.values(h.parents).map((p) => `${p}/${runner}`).join(', ')}`;
  return { cgroup: where, applied };
}

export function processPlanRows(b: ProcessPlan): Array<[string, string]> {
  const who = b.isolation === 'per-runner' ? `a user per runner in ${b.user}'s groups` : b.user;
  const rows: Array<[string, string]> = [['backend', `child process of the daemon, as ${who}${b.group ? `, group ${b.group}` : ''}`]];
  if (b.limits) rows.push(['limits', 'refused' in b.limits ? `cannot be applied here: ${b.limits.refused}` : `${b.limits.applied} in ${b.limits.cgroup}`]);
  return rows;
}

const mib = (n: number): string => (n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : `${n} bytes`);
