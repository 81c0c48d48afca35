import { fail, ok, warn, type Check } from '../../doctor/types.js';
import { poolsOf } from '../pools.js';

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
