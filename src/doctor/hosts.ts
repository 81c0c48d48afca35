import { runnerNamePattern, scopeKey } from '../config/names.js';
import type { Scope } from '../config/types.js';
import { describeError } from '../errors.js';
import { hostLabel, hostOwnership, storedHostId } from '../reconcile/host-id.js';
import { ok, warn, type Check, type CheckResult } from './types.js';

/**
 * Registrations named like this host's runners but carrying another host's id: two hosts use
 * one name (a cloned VM, or host/pool names that overlap). The daemon leaves them alone; the
 * operator should rename one host.
 */
export const checkHostNames: Check = async (ctx) => {
  const name = 'host names';
  const id = ctx.store ? storedHostId(ctx.store) : undefined;
  if (!id) return [ok(name, 'no host id yet (created when the daemon first starts)')];
  if (!ctx.github) return [];
  const mine = hostLabel(id);
  const scopes = new Map<string, Scope>();
  for (const p of ctx.cfg.pools) scopes.set(scopeKey(p.scope), p.scope);
  const patterns = ctx.cfg.pools.map((p) => runnerNamePattern(ctx.cfg.host.name, p.name));
  const out: CheckResult[] = [];
  for (const [key, scope] of scopes) {
    try {
      const regs = await ctx.github.listRunners(scope);
      const clash = regs.filter((g) => patterns.some((re) => re.test(g.name)) && hostOwnership(g.labels, mine) === 'other');
      for (const g of clash) {
        const other = g.labels.find((l) => l.toLowerCase().startsWith('rf-host-'));
        out.push(warn(name, `another host uses the name ${g.name} (${key}, ${other}; this host is ${mine})`, `give one of the hosts another host.name`));
      }
    } catch (err) {
      out.push(warn(name, `could not list runners of ${key}: ${describeError(err)}`));
    }
  }
  return out.length ? out : [ok(name, `no other host uses this host's runner names (${mine})`)];
};
