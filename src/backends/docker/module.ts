import type { BackendModule } from '../module.js';
import { dockerIsolation } from './isolation.js';
import { idsFor } from '../process/user.js';
import { checkDocker, checkNetworkFromContainers, prepareDoctor } from './doctor.js';
import { containerName } from './names.js';
import { dockerPlan, dockerPlanRows } from './plan.js';

/** Runners in containers, one per runner, labelled with this host as owner. */
export const dockerModule: BackendModule<'docker'> = {
  kind: 'docker',
  requires: 'docker.image',
  settings: (docker) => (docker ? { backend: 'docker', docker } : undefined),
  cannotApplyHostEntries(raw) {
    const network = (raw.docker as { network?: unknown } | null | undefined)?.network;
    return typeof network === 'string' && network.startsWith('container:')
      ? 'docker network "container:..." (it shares another container\'s resolv.conf and hosts)'
      : undefined;
  },

  // The older spelling of limits.cpus (raw YAML may still hold "2" as a string).
  sectionCpus: (s) => (typeof s?.cpus === 'number' ? s.cpus : typeof s?.cpus === 'string' && /^\d+(\.\d+)?$/.test(s.cpus.trim()) ? Number(s.cpus) : undefined),

  async create({ cfg, logger, clock, failpoint }) {
    const { createDockerBackend } = await import('./index.js');
    return createDockerBackend({ host: cfg.host.name, logger, ...(clock ? { clock } : {}), ...(failpoint ? { failpoint } : {}) });
  },
  specParts: (pool) => ({
    docker: pool.docker,
    ...(pool.docker.user ? { user: pool.docker.user } : {}),
    ...(pool.docker.network ? { networkMode: pool.docker.network } : {}),
  }),
  runnerOwner(pool) {
    // A container user is only known on the host when numeric ("1001" or "1001:1001"), which is
    // what the official image uses.
    const u = pool.docker.user;
    return u && /^\d+(:\d+)?$/.test(u) ? idsFor(u) : undefined;
  },
  sharedRunnerFiles: 'mounts',
  runsAsOtherUser(pool) {
    // Without docker.user the container runs as the image's USER (the official image: runner,
    // uid 1001), learnt at create time: the data dir must be traversable unless root is explicit.
    const u = pool.docker.user ?? '';
    return !(u === 'root' || u === '0' || u.startsWith('0:') || u.startsWith('root:'));
  },
  resourceName: containerName,

  plan: dockerPlan,
  planRows: dockerPlanRows,
  hostNetwork: false,
  doctor: {
    isolation: dockerIsolation,
    prepare: prepareDoctor,
    engine: checkDocker,
    network: { id: 'network-containers', run: checkNetworkFromContainers },
  },
  daemonDropIn: () => undefined,
};
