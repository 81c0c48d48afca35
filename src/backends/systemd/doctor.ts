import { DEFAULT_SYSTEMD_ISOLATION, type PoolOf } from '../../config/types.js';
import { fail, ok, warn, type Check, type CheckResult, type DoctorContext } from '../../doctor/types.js';
import { poolsOf } from '../pools.js';
import { dockerSocketGroup, dockerSocketWarning } from '../socket-access.js';
import { SUDO_WARNING } from './plan.js';

export const checkSystemd: Check = async (ctx) => {
  if (poolsOf(ctx.cfg, 'systemd').length === 0) return [];
  const v = await ctx.exec('systemctl', ['--version'], 5000);
  if (v.error || v.code !== 0) {
    return [fail('systemd', `systemctl --version failed: ${v.error ?? v.stderr.trim()}`, 'systemd pools need systemd as PID 1; use backend: process or docker here')];
  }
  const version = v.stdout.split('\n')[0]?.trim() ?? 'systemd';
  const r = await ctx.exec('systemctl', ['is-system-running'], 5000);
  const state = r.stdout.trim() || r.stderr.trim();
  if (state === 'running') return [ok('systemd', `${version}, ${state}`)];
  if (state === 'degraded' || state === 'starting' || state === 'initializing' || state === 'maintenance') {
    return [warn('systemd', `${version}, ${state}`, 'systemctl --failed shows which units are failing')];
  }
  return [fail('systemd', `${version}, system state "${state || 'unknown'}"`, 'the manager is not reachable: is this a container without systemd, or is the D-Bus socket missing?')];
};

/** Doctor: per-runner pools give each runner its own user; shared pools share what `user` can read. */
export function systemdIsolation(pool: PoolOf<'systemd'>, _ctx: DoctorContext, name: string): CheckResult[] {
  const group = dockerSocketGroup(pool.systemd.user);
  return [
    ...whoRuns(pool, name),
    ...(group ? [warn(name, ...dockerSocketWarning(pool.systemd.user, group))] : []),
    ...(pool.systemd.sudo ? [warn(name, SUDO_WARNING, 'only for pools whose every workflow is trusted; per-runner users need a group rule (%group) in sudoers')] : []),
  ];
}

function whoRuns(pool: PoolOf<'systemd'>, name: string): CheckResult[] {
  const u = pool.systemd.user;
  if (u === 'root' || u === '0') return [warn(name, 'jobs run as root on this host', 'run runners as an unprivileged systemd.user')];
  if ((pool.systemd.isolation ?? DEFAULT_SYSTEMD_ISOLATION) === 'per-runner') {
    return [ok(name, `each runner runs as its own user (rf-*) in ${u}'s group: siblings' roots and processes are out of reach (NoNewPrivileges, no capabilities, read-only system)`)];
  }
  const many = pool.scale ? pool.scale.max > 1 : pool.size > 1;
  if (!many) return [ok(name, `jobs run as ${u} (NoNewPrivileges, no capabilities, read-only system)`)];
  return [warn(name, `runners of this pool share ${u}: a job can read its siblings' roots (.credentials_rsaparams) and process environments`, 'use systemd.isolation: per-runner unless jobs need the pool user itself')];
}
