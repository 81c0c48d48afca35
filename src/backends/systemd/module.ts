import type { BackendModule } from '../module.js';
import { idsFor } from '../process/user.js';
import { checkSystemd, systemdIsolation } from './doctor.js';
import { unitName } from './names.js';
import { systemdPlan, systemdPlanRows } from './plan.js';

const isRootUser = (u: string) => u === 'root' || u === '0' || u.startsWith('0:') || u.startsWith('root:');

/** Runners as transient-free system units with their own user, one unit per runner. */
export const systemdModule: BackendModule<'systemd'> = {
  kind: 'systemd',
  requires: 'systemd.user',
  settings: (systemd) => (systemd ? { backend: 'systemd', systemd } : undefined),
  // The backend bind-mounts a generated resolv.conf / hosts into the unit.
  cannotApplyHostEntries: () => undefined,

  async create({ cfg, logger }) {
    const { createSystemdBackend } = await import('./index.js');
    return createSystemdBackend({ host: cfg.host.name, logger });
  },
  specParts: (pool) => ({ systemd: pool.systemd, user: pool.systemd.user }),
  runnerOwner(pool) {
    // systemd resolves the user itself (NSS, or on the host its `run` reaches) and the backend
    // chowns the root there; a user unknown to our /etc/passwd is not an error here.
    try {
      return idsFor(pool.systemd.user);
    } catch {
      return undefined;
    }
  },
  sharedRunnerFiles: 'links',
  runsAsRoot: (pool) => isRootUser(pool.systemd.user),
  runsAsOtherUser(pool) {
    return this.runnerOwner(pool) !== undefined || !isRootUser(pool.systemd.user);
  },
  resourceName: unitName,

  plan: systemdPlan,
  planRows: systemdPlanRows,
  hostNetwork: true,
  doctor: { engine: checkSystemd, isolation: systemdIsolation },
  daemonDropIn: () => 'systemd-backend',
};
