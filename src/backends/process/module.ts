import type { BackendModule } from '../module.js';
import { processPlan, processPlanRows } from './plan.js';

/** Runners as child processes of the daemon, as the daemon's user. */
export const processModule: BackendModule<'process'> = {
  kind: 'process',
  settings: (process) => ({ backend: 'process', ...(process ? { process } : {}) }),
  cannotApplyHostEntries: () => 'backend process',

  async create({ cfg, logger, clock }) {
    const { createProcessBackend } = await import('./index.js');
    return createProcessBackend({ host: cfg.host.name, dataDir: cfg.host.dataDir, logger, ...(clock ? { clock } : {}) });
  },
  specParts: () => ({}),
  runnerOwner: () => undefined,
  sharedRunnerFiles: 'links',
  runsAsOtherUser: () => false,
  // The pid file names the process; the runner's name is its only handle.
  resourceName: (runnerName) => runnerName,

  plan: processPlan,
  planRows: processPlanRows,
  hostNetwork: true,
  doctor: {},
  needsSystemdDropIn: false,
};
