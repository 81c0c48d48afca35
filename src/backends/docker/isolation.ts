import type { PoolOf } from '../../config/types.js';
import { ok, warn, type CheckResult, type DoctorContext } from '../../doctor/types.js';

/** Doctor: the powers a Docker pool hands its jobs beyond the hardened default. */
export function dockerIsolation(pool: PoolOf<'docker'>, _ctx: DoctorContext, name: string): CheckResult[] {
  const d = pool.docker;
  const out: CheckResult[] = [];
  const hint = 'only for pools whose every workflow is trusted';
  if (d.privileged) out.push(warn(name, 'privileged containers: a job is root on this host', hint));
  if (d.dockerSocket) out.push(warn(name, "Docker socket mounted: a job controls this host's Docker engine (root-equivalent)", hint));
  if (out.length) return out;
  const sudo = d.sudo ? "sudo allowed to the container's root (capabilities stay reduced)" : 'no-new-privileges';
  return [ok(name, `no extra capabilities, ${sudo}, shared runner files read-only, no registration token in the container`)];
}
