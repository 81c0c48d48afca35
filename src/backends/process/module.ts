import type { BackendModule } from '../module.js';
import { neededControllers, probeCgroups } from './cgroup.js';
import { processIsolation } from './isolation.js';
import { detectScopes } from './scope.js';
import { processPlan, processPlanRows } from './plan.js';
import { processPoolIds } from './user.js';

/** Runners as child processes of the daemon: as `process.user`, else as the daemon's user. */
export const processModule: BackendModule<'process'> = {
  kind: 'process',
  settings: (process) => ({ backend: 'process', ...(process ? { process } : {}) }),
  cannotApplyHostEntries: () => 'backend process',
  // Each runner gets a cgroup child group with the limits; where the daemon cannot make one,
  // refuse rather than run without the limits the config promises.
  cannotApplyLimits(limits, host) {
    // A root daemon on a systemd host puts each runner in a scope that carries the limits.
    if (detectScopes().systemdRun) return undefined;
    const need = neededControllers({
      ...(limits.memory !== undefined ? { memory: 1 } : {}), ...(limits.cpus !== undefined ? { cpus: 1 } : {}), ...(limits.pids !== undefined ? { pids: 1 } : {}),
    });
    const found = probeCgroups(need, host.cgroups);
    return 'why' in found ? `the process backend puts each runner in a cgroup child group with them, and ${found.why}` : undefined;
  },

  async create({ cfg, logger, clock, failpoint }) {
    const { createProcessBackend } = await import('./index.js');
    return createProcessBackend({ host: cfg.host.name, dataDir: cfg.host.dataDir, logger, ...(clock ? { clock } : {}), ...(failpoint ? { failpoint } : {}) });
  },
  specParts(pool) {
    if (!pool.process) return {};
    const ids = processPoolIds(pool.process, pool.name);
    return { user: `${ids.uid}:${ids.gid}`, process: pool.process };
  },
  // Throws CONFIG_INVALID when the daemon cannot switch users: the pool fails, the others run.
  runnerOwner: (pool) => (pool.process ? processPoolIds(pool.process, pool.name) : undefined),
  sharedRunnerFiles: 'links',
  runsAsOtherUser: (pool) => pool.process !== undefined,
  runsAsRoot(pool) {
    if (!pool.process) return process.getuid?.() === 0;
    try {
      return processPoolIds(pool.process, pool.name).uid === 0;
    } catch {
      return false; // the daemon cannot switch users: that pool fails on its own
    }
  },
  // The pid file names the process; the runner's name is its only handle.
  resourceName: (runnerName) => runnerName,

  plan: processPlan,
  planRows: processPlanRows,
  hostNetwork: true,
  doctor: { isolation: processIsolation },
  // Switching to process.user needs a root daemon: the shipped unit runs as runner-fleet.
  daemonDropIn: (pool) => {
    const section = pool.process as { user?: unknown } | undefined;
    return section?.user !== undefined && section.user !== null && section.user !== '' ? 'process-user' : undefined;
  },
};
