import type { PoolOf } from '../../config/types.js';
import { containerName } from './names.js';

export interface DockerPlan {
  kind: 'docker';
  container: string;
  image: string;
  runnerFrom: string;
  runnerDir: string;
  network: string;
  cpus?: number;
  memory?: string;
  user?: string;
  privileged: boolean;
  dockerSocket: boolean;
  /** docker.sudo: no-new-privileges off (setuid sudo to the container's root). */
  sudo: boolean;
  pull: string;
}

export function dockerPlan(p: PoolOf<'docker'>, example: string): { backend: DockerPlan; warnings: string[] } {
  const d = p.docker;
  const warnings: string[] = [];
  if (d.privileged) warnings.push('privileged containers: jobs get full root access to this host');
  if (d.dockerSocket) warnings.push("Docker socket mounted: jobs control this host's Docker engine (root-equivalent)");
  return {
    backend: {
      kind: 'docker',
      container: containerName(example),
      image: d.image,
      runnerFrom: d.runnerFrom,
      runnerDir: d.runnerFrom === 'image' ? d.imageRunnerDir : 'runner dir mounted at the same path',
      network: d.network ?? 'default (bridge)',
      ...(d.cpus !== undefined ? { cpus: d.cpus } : {}),
      ...(d.memory !== undefined ? { memory: d.memory } : {}),
      ...(d.user !== undefined ? { user: d.user } : {}),
      privileged: d.privileged,
      dockerSocket: d.dockerSocket,
      sudo: d.sudo === true,
      pull: d.pull,
    },
    warnings,
  };
}

export function dockerPlanRows(b: DockerPlan): Array<[string, string]> {
  const limits = [b.cpus !== undefined ? `cpus ${b.cpus}` : '', b.memory ? `memory ${b.memory}` : ''].filter(Boolean).join(', ');
  return [
    ['backend', `docker container ${b.container}`],
    ['', `image ${b.image} (pull ${b.pull}); runner from ${b.runnerFrom}: ${b.runnerDir}`],
    ['', `network ${b.network}; limits ${limits || 'none'}; user ${b.user ?? "the image's"}`],
    ['', `privileged ${b.privileged ? 'YES' : 'no'}; docker socket ${b.dockerSocket ? 'MOUNTED' : 'no'}; sudo ${b.sudo ? "yes (to the container's root)" : 'no (no-new-privileges)'}`],
  ];
}
