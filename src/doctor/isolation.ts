import { moduleOf } from '../backends/index.js';
import type { PoolConfig } from '../config/types.js';
import { rootRefusal } from '../reconcile/pools.js';
import { warn, type Check, type CheckResult, type DoctorContext } from './types.js';

/**
 * What a job of each pool can reach beyond its own runner (README "Security model"): the
 * operator's decisions, spelled out by each backend. A failure only for a setting the pool cannot
 * run with (process.user on a daemon that cannot switch users).
 */
export const checkJobIsolation: Check = async (ctx) => ctx.cfg.pools.flatMap((p) => rowsFor(p, ctx));

function rowsFor(pool: PoolConfig, ctx: DoctorContext): CheckResult[] {
  const m = moduleOf(pool.backend) as { doctor: { isolation?(p: PoolConfig, c: DoctorContext, n: string): CheckResult[] } };
  const name = `isolation ${pool.name}`;
  // A warning, not a failure: doctor may run as another user than the daemon, which decides.
  const root = rootRefusal(pool);
  return [...(m.doctor.isolation?.(pool, ctx, name) ?? []), ...(root ? [warn(name, `${root} (RUNNER_AS_ROOT: the daemon starts none)`)] : [])];
}
