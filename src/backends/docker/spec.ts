import type Dockerode from 'dockerode';
import { FleetError } from '../../errors.js';
import type { DockerPoolConfig } from '../../config/types.js';
import type { RunnerSpec } from '../types.js';
import { LOAD_SECRETS, SECRET_FILE, renderSecretFile } from '../secret-file.js';
import { containerName } from './names.js';

/** Ownership labels (docs/contract.md §5). A container without them, or for another host, is not ours. */
export const LABEL_HOST = 'io.runner-fleet.host';
export const LABEL_POOL = 'io.runner-fleet.pool';
export const LABEL_RUNNER = 'io.runner-fleet.runner';
export const LABEL_BACKEND = 'io.runner-fleet.backend';
/** The host's persistent id: tells this host's containers from a clone's with the same host name. */
export const LABEL_HOST_ID = 'io.runner-fleet.host-id';

export const DOCKER_SOCKET = '/var/run/docker.sock';

export { containerName };

export function isOwned(labels: Record<string, string> | undefined, host: string, runnerName?: string): boolean {
  if (!labels || labels[LABEL_HOST] !== host || !labels[LABEL_RUNNER]) return false;
  return runnerName === undefined || labels[LABEL_RUNNER] === runnerName;
}

const MEMORY_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** Docker's memory syntax (`4g`, `512m`, `1.5g`, `1024`; an optional trailing `b`) → bytes. */
export function parseMemory(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([bkmgt]?)b?\s*$/i.exec(value);
  if (!m) throw new FleetError('CONFIG_INVALID', `invalid memory size "${value}" (expected e.g. 512m, 4g)`);
  const bytes = Math.floor(Number(m[1]) * MEMORY_UNITS[(m[2] ?? '').toLowerCase()]!);
  if (!Number.isFinite(bytes) || bytes <= 0) throw new FleetError('CONFIG_INVALID', `invalid memory size "${value}"`);
  return bytes;
}

/** `network` in the pool's docker section wins over the generic network mode. */
export function networkMode(spec: RunnerSpec): string | undefined {
  return spec.docker?.network ?? spec.network.mode;
}

/**
 * The command and working dir. `cache` (default): the verified runner mounted from the host at
 * the same path, so `spec.command` runs as the lifecycle code built it. `image`: the image ships
 * its own runner; an ephemeral runner (JIT config in env) starts its Listener directly, while a
 * persistent one still runs `spec.command` (its start script in the mounted runner root).
 */
function entry(spec: RunnerSpec): { cmd: string[]; workingDir: string } {
  const d = spec.docker;
  if (d?.runnerFrom === 'image') {
    const dir = d.imageRunnerDir.replace(/\/+$/, '');
    if (spec.ephemeral) return { cmd: [`${dir}/bin/Runner.Listener`, 'run'], workingDir: dir };
    return { cmd: spec.command, workingDir: dir };
  }
  return { cmd: spec.command, workingDir: spec.root };
}

function binds(spec: RunnerSpec): Dockerode.MountSettings[] {
  // HostConfig.Mounts rather than Binds: paths may contain ':' or ',', and a missing source is an
  // error instead of Docker silently creating a root-owned empty directory.
  const mounts: Dockerode.MountSettings[] = [{ Type: 'bind', Source: spec.root, Target: spec.root, ReadOnly: false }];
  for (const m of spec.mounts) {
    if (m.target === spec.root) continue;
    mounts.push({ Type: 'bind', Source: m.source, Target: m.target, ReadOnly: m.readOnly });
  }
  if (spec.docker?.dockerSocket) {
    mounts.push({ Type: 'bind', Source: DOCKER_SOCKET, Target: DOCKER_SOCKET, ReadOnly: false });
  }
  return mounts;
}

/**
 * Secrets (JIT config, registration token, secretEnv values) never enter the container's config:
 * Env there is PID 1's environment for the container's whole life, readable from /proc/1/environ
 * by a job of the same user, and a registration token is good for the whole scope. They travel in
 * a 0600 file in the runner's own root instead, which the start wrapper loads and deletes before
 * it execs the runner, so the file is gone before any job runs. Never argv, labels or logs.
 */
export const START_ARGV0 = 'rf-start';
export const START_SCRIPT = `s=$1; shift; ${LOAD_SECRETS}`;

export const secretFile = (spec: Pick<RunnerSpec, 'root'>) => `${spec.root}/${SECRET_FILE}`;

export { renderSecretFile };

function envList(spec: RunnerSpec): string[] {
  return Object.entries(spec.env).map(([k, v]) => `${k}=${v}`);
}

/**
 * What a job keeps of Docker's default capability set: file ownership and permission work in its
 * workspace (CHOWN, DAC_OVERRIDE, FOWNER, FSETID), switching users as root does (SETUID, SETGID:
 * apt drops to _apt, su, gosu), signalling its own processes across users (KILL) and test servers
 * on low ports (NET_BIND_SERVICE). Dropped: NET_RAW (spoofing on a host network), MKNOD, SETFCAP,
 * SETPCAP, SYS_CHROOT, AUDIT_WRITE. With no-new-privileges nothing setuid (sudo) raises them.
 */
export const JOB_CAPABILITIES = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'SETUID', 'SETGID', 'KILL', 'NET_BIND_SERVICE'];

/** Privileged pools asked for all of it (docker-in-docker); everything else runs reduced. */
function powers(d: DockerPoolConfig): Partial<Dockerode.HostConfig> {
  if (d.privileged) return { Privileged: true };
  // docker.sudo: setuid binaries may raise a non-root user to the container's root (still
  // within JOB_CAPABILITIES), as the official runner image's passwordless sudo expects.
  return { Privileged: false, CapDrop: ['ALL'], CapAdd: JOB_CAPABILITIES, ...(d.sudo ? {} : { SecurityOpt: ['no-new-privileges:true'] }) };
}

/** The pool's docker section; the docker module always puts it in the spec. */
export function dockerSettings(spec: RunnerSpec): NonNullable<RunnerSpec['docker']> {
  if (!spec.docker) throw new FleetError('BACKEND_FAILED', `runner ${spec.name}: docker backend needs spec.docker`);
  return spec.docker;
}

export function createOptions(spec: RunnerSpec, host: string): Dockerode.ContainerCreateOptions {
  const d = dockerSettings(spec);
  const { cmd, workingDir } = entry(spec);
  const user = d.user ?? spec.user;
  const net = networkMode(spec);
  return {
    name: containerName(spec.name),
    Image: d.image,
    Cmd: ['/bin/sh', '-c', START_SCRIPT, START_ARGV0, secretFile(spec), ...cmd],
    // The image's own entrypoint (e.g. a shell wrapper) must not swallow our argv.
    Entrypoint: [],
    WorkingDir: workingDir,
    Env: envList(spec),
    ...(user ? { User: user } : {}),
    Hostname: spec.name.slice(0, 63),
    // `docker stop` by an operator gives the runner the same graceful signal we send.
    StopSignal: 'SIGINT',
    Labels: {
      [LABEL_HOST]: host,
      [LABEL_POOL]: spec.pool,
      [LABEL_RUNNER]: spec.name,
      [LABEL_BACKEND]: 'docker',
      ...(spec.hostId ? { [LABEL_HOST_ID]: spec.hostId } : {}),
    },
    HostConfig: {
      // A tiny init as PID 1 forwards SIGINT/SIGTERM to the runner and reaps job orphans.
      Init: true,
      // Never restarted by Docker: an exit is the reconciler's to see (a restarted ephemeral
      // runner would replay a spent JIT config, a persistent one an expired token).
      RestartPolicy: { Name: 'no' },
      ...powers(d),
      Mounts: binds(spec),
      ...(net ? { NetworkMode: net } : {}),
      ...(spec.network.dns.length ? { Dns: spec.network.dns } : {}),
      ExtraHosts: Object.entries(spec.network.extraHosts).map(([name, ip]) => `${name}:${ip}`),
      ...resourceLimits(spec),
    },
  };
}

/**
 * pool.limits, else docker.cpus/memory (the older spelling). Swap is capped at the memory limit
 * so a job past it is OOM-killed (State.OOMKilled) instead of swapping the host to a crawl.
 */
function resourceLimits(spec: RunnerSpec): { NanoCpus?: number; Memory?: number; MemorySwap?: number; PidsLimit?: number } {
  const d = spec.docker;
  const cpus = spec.limits?.cpus ?? d?.cpus;
  const memory = spec.limits?.memory ?? (d?.memory ? parseMemory(d.memory) : undefined);
  const pids = spec.limits?.pids;
  return {
    ...(cpus ? { NanoCpus: Math.round(cpus * 1e9) } : {}),
    ...(memory ? { Memory: memory, MemorySwap: memory } : {}),
    ...(pids ? { PidsLimit: pids } : {}),
  };
}
