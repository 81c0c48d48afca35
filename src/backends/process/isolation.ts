import os from 'node:os';
import path from 'node:path';
import { DEFAULT_PROCESS_ISOLATION, type PoolOf } from '../../config/types.js';
import { fail, ok, warn, type CheckResult, type DoctorContext } from '../../doctor/types.js';
import { DB_FILE } from '../../store/files.js';
import { neededControllers, probeCgroups } from './cgroup.js';
import { detectScopes } from './scope.js';
import { dockerSocketGroup, dockerSocketWarning } from '../socket-access.js';

/** Doctor: who a process pool's jobs run as, what that user can reach, and whether its limits can be applied. */
export function processIsolation(pool: PoolOf<'process'>, ctx: DoctorContext, name: string): CheckResult[] {
  const group = pool.process ? dockerSocketGroup(pool.process.user) : undefined;
  const socket = group && pool.process ? [warn(name, ...dockerSocketWarning(pool.process.user, group))] : [];
  return [...whoRuns(pool, ctx, name), ...socket, ...limitsCheck(pool, name)];
}

function limitsCheck(pool: PoolOf<'process'>, name: string): CheckResult[] {
  if (!pool.limits) return [];
  if (detectScopes().systemdRun) return [ok(name, 'limits: each runner\'s systemd scope carries them (MemoryMax, CPUQuota, TasksMax)')];
  const found = probeCgroups(neededControllers(pool.limits));
  if ('why' in found) return [fail(name, `limits: the daemon cannot put its runners in a cgroup: ${found.why}`, 'give the daemon a delegated, writable cgroup, or use a docker or systemd pool for limits')];
  return [ok(name, `limits: each runner runs in its own cgroup v${found.host.version} group with them (the job is OOM-killed before the Listener)`)];
}

function whoRuns(pool: PoolOf<'process'>, ctx: DoctorContext, name: string): CheckResult[] {
  if (pool.process) {
    if (process.getuid?.() !== 0) {
      return [fail(name, `process.user ${pool.process.user} needs the daemon to run as root; the pool cannot start`, 'run the daemon as root (install-service adds the process-user drop-in to the shipped unit), or drop process.user')];
    }
    const u = pool.process.user;
    if ((pool.process.isolation ?? DEFAULT_PROCESS_ISOLATION) === 'per-runner') {
      return [ok(name, `each runner runs as its own user (rf-*) in ${u}'s groups: siblings' roots and process environments are out of reach; ${scopeNote()}`)];
    }
    const many = pool.scale ? pool.scale.max > 1 : pool.size > 1;
    if (!many) return [ok(name, `jobs run as ${u}; ${scopeNote()}`)];
    return [warn(name, `runners of this pool share ${u}: a job can read its siblings' roots (.credentials_rsaparams) and process environments; ${scopeNote()}`, 'use process.isolation: per-runner unless jobs need the pool user itself')];
  }
  const creds = process.env.CREDENTIALS_DIRECTORY ? `, ${process.env.CREDENTIALS_DIRECTORY}` : '';
  return [warn(name,
    `jobs run as the daemon's user (${daemonUser()}): they can read ${path.join(ctx.cfg.host.dataDir, DB_FILE)}, ${ctx.cfg.source}${creds} and the daemon's secret files, write the runner cache and tools, and stop the daemon`,
    'set process.user (the daemon must run as root), or use a docker or systemd pool for untrusted repositories')];
}

/** Whether runners get their own transient scope (scope.ts), and what that means if not. */
function scopeNote(): string {
  const s = detectScopes();
  if (s.systemdRun) return "each runner runs in its own systemd scope (outside the daemon's cgroup: its jobs cannot send sd_notify messages for the daemon's unit; destroy kills the whole scope)";
  return `runners share the daemon's cgroup (no systemd scopes: ${s.reason}); that matters only when the daemon runs as a systemd unit (NotifyAccess=all would take a job's sd_notify messages)`;
}

function daemonUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}
