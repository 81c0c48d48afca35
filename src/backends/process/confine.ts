import { describeError, FleetError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { CommandRunner } from '../systemd/exec.js';
import type { RunnerSpec } from '../types.js';
import { findCgroups, neededControllers, probeCgroups, RunnerCgroups, type CgroupPaths } from './cgroup.js';
import { scopePrefix, scopeProperties, stopScope, type ScopeSupport } from './scope.js';

/** How a runner is started: in its scope (argv prefix), or joined to a raw cgroup (the shim's gate). */
export interface Placement {
  scope?: string[];
  join?: (pid: number) => Promise<void>;
  /** A start that failed: the group made for it goes. */
  undo(): Promise<void>;
}

/**
 * Where a process runner runs, and what holds it together: its own systemd scope when the host
 * has them (scope.ts: outside the daemon's cgroup, limits as scope properties), else a raw
 * cgroup child group when the pool has limits (cgroup.ts), else the daemon's own cgroup.
 */
export function confinement(o: { scopes: ScopeSupport; run: CommandRunner; cgroups?: CgroupPaths; log: Logger }) {
  const { scopes, run, log } = o;
  let groupsHere: RunnerCgroups | null | undefined;
  /** Where runner groups live on this host, if anywhere (read once). */
  const cgroups = (): RunnerCgroups | undefined => {
    if (groupsHere === undefined) groupsHere = findCgroups(o.cgroups) ?? null;
    return groupsHere ?? undefined;
  };

  /** pools[].limits: the runner's cgroup, made before it starts; never a runner without the limits it was promised. */
  async function limitGroup(spec: RunnerSpec): Promise<RunnerCgroups | undefined> {
    const need = neededControllers(spec.limits);
    if (!need.length) return undefined;
    const found = probeCgroups(need, o.cgroups);
    if ('why' in found) throw new FleetError('BACKEND_FAILED', `runner ${spec.name}: pool limits need a cgroup child group, but ${found.why}`);
    const cg = new RunnerCgroups(found.host);
    await cg.create(spec.name, spec.limits!);
    return cg;
  }

  return {
    async place(spec: RunnerSpec): Promise<Placement> {
      if (scopes.systemdRun) {
        // A scope of this name still holding processes (a persistent runner's leftovers) would
        // make systemd-run fail; what is in it belongs to no running runner of ours.
        await stopScope(run, spec.name);
        // The limits are the scope's own properties: a raw group under the daemon's cgroup would
        // put the runner back into the daemon's unit (and NotifyAccess=all's reach).
        return { scope: scopePrefix(scopes.systemdRun, spec.name, scopeProperties(spec.limits)), undo: async () => undefined };
      }
      const cg = await limitGroup(spec);
      if (!cg) return { undo: async () => undefined };
      return { join: (pid) => cg.join(spec.name, pid), undo: () => cg.remove(spec.name).catch(() => undefined) };
    },
    /**
     * After the runner stopped: what left its process group (setsid, double fork) and is still in
     * its scope or group dies, then the group goes. Nothing of the runner may outlive it, least
     * of all while its root is being removed.
     */
    async release(name: string): Promise<void> {
      if (scopes.systemdRun) await stopScope(run, name);
      await cgroups()?.remove(name).catch((err: unknown) => log.warn({ runner: name, err: describeError(err) }, 'could not remove the runner cgroup'));
    },
    /** OOM kills seen in the runner's raw group (0 without one). */
    async oomKills(name: string): Promise<number> {
      return (await cgroups()?.oomKills(name)) ?? 0;
    },
  };
}
