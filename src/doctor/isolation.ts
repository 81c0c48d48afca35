import { moduleOf } from '../backends/index.js';
import type { PoolConfig } from '../config/types.js';
import type { Check, CheckResult, DoctorContext } from './types.js';

/**
 * What a job of each pool can reach beyond its own runner (README "Security model"): the
 * operator's decisions, spelled out by each backend. A failure only for a setting the pool cannot
 * run with (process.user on a daemon that cannot switch users).
 */
export const checkJobIsolation: Check = async (ctx) => ctx.cfg.pools.flatMap((p) => rowsFor(p, ctx));

function rowsFor(pool: PoolConfig, ctx: DoctorContext): CheckResult[] {
  const m = moduleOf(pool.backend) as { doctor: { isolation?(p: PoolConfig, c: DoctorContext, n: string): CheckResult[] } };
  return m.doctor.isolation?.(pool, ctx, `isolation ${pool.name}`) ?? [];
}
