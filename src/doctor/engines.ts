import { describeError } from '../errors.js';
import { fail, ok, warn, type Check, type CheckResult } from './types.js';

export const checkDocker: Check = async (ctx) => {
  const pools = ctx.cfg.pools.filter((p) => p.backend === 'docker');
  if (pools.length === 0) return [];
  if (!ctx.docker) return [fail('docker', 'no Docker client', 'check DOCKER_HOST')];
  try {
    await ctx.docker.ping();
  } catch (err) {
    return [fail('docker', `engine unreachable: ${describeError(err)}`, 'start dockerd (systemctl start docker); give the service user access to /var/run/docker.sock (docker group) or set DOCKER_HOST')];
  }
  const out: CheckResult[] = [ok('docker', 'engine reachable')];
  for (const image of new Set(pools.map((p) => p.docker?.image).filter((i): i is string => !!i))) {
    const never = pools.some((p) => p.docker?.image === image && p.docker.pull === 'never');
    try {
      await ctx.docker.getImage(image).inspect();
      out.push(ok(`image ${image}`, 'present'));
    } catch {
      out.push(
        never
          ? fail(`image ${image}`, 'not present and pull: never', `docker pull ${image} (or docker load it); verify the tag exists`)
          : warn(`image ${image}`, 'not present; pulled at first start', `docker pull ${image} now to make the first start fast and catch a wrong tag or missing registry credentials`),
      );
    }
  }
  return out;
};

export const checkSystemd: Check = async (ctx) => {
  if (!ctx.cfg.pools.some((p) => p.backend === 'systemd')) return [];
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
