import { promises as fs } from 'node:fs';
import path from 'node:path';
import Dockerode from 'dockerode';
import { systemClock, type Clock } from '../../clock.js';
import { FleetError, describeError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Backend, BackendRef, RunnerSpec } from '../types.js';
import { engineError, statusOf, waitStopped } from './engine.js';
import { watchExits } from './events.js';
import { chownRunnerRoot, chownViaEngine, imageUserResolver } from './image-user.js';
import { imageEnsurer, type PullProgress } from './images.js';
import { demuxLogs } from './logs.js';
import { listOwned } from './observe.js';
import { writeSecretFile } from './secret-file.js';
import { containerName, createOptions, dockerSettings, isOwned } from './spec.js';
import { observedState } from './state.js';
import type { Failpoint } from '../../daemon/failpoints.js';

export { parseMemory, containerName, LABEL_HOST, LABEL_POOL, LABEL_RUNNER, LABEL_BACKEND, LABEL_HOST_ID } from './spec.js';
export type { PullProgress } from './images.js';

export interface DockerBackendOptions {
  /** This host's name: the ownership label value. */
  host: string;
  logger: Logger;
  /** Defaults to the local engine (DOCKER_HOST or /var/run/docker.sock). */
  docker?: Dockerode;
  clock?: Clock;
  /** Pull progress, for a progress bar when the CLI runs on a TTY. */
  onPullProgress?: (image: string, p: PullProgress) => void;
  /**
   * How the runner root is handed to the container's user: `fs` (chown, the daemon is root) or
   * `engine` (a short-lived root container does it, for a daemon in the docker group). Default
   * by the daemon's uid; tests pick one.
   */
  chownVia?: 'fs' | 'engine';
  /** Events-stream reconnect backoff (default 250 ms doubling to 10 s). */
  watchBackoffMs?: { min: number; max: number };
  /** Crash tests: a point between container create and start. */
  failpoint?: Failpoint;
}

type Inspect = Dockerode.ContainerInspectInfo;

export function createDockerBackend(opts: DockerBackendOptions): Backend {
  const docker = opts.docker ?? new Dockerode();
  const clock = opts.clock ?? systemClock;
  const { host, logger } = opts;
  const ensureImage = imageEnsurer({ docker, logger, onPullProgress: opts.onPullProgress });
  const imageUser = imageUserResolver(docker);

  /** The container under `name`'s container name, owned or not; undefined if absent. */
  async function inspectByName(name: string, signal?: AbortSignal): Promise<Inspect | undefined> {
    try {
      return await docker.getContainer(containerName(name)).inspect({ abortSignal: signal });
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw engineError(`inspect ${containerName(name)}`, err);
    }
  }

  /** Our container for `name`, undefined if absent. A foreign one under our name is an error. */
  async function inspectOwned(name: string, signal?: AbortSignal): Promise<Inspect | undefined> {
    const info = await inspectByName(name, signal);
    if (info && !isOwned(info.Config.Labels, host, name)) {
      throw new FleetError('BACKEND_FAILED', `container ${containerName(name)} exists but is not owned by host ${host}; leaving it alone`);
    }
    return info;
  }

  /** Runners whose container had an OOM kill (engine `oom` event), until they are destroyed. */
  const oomSeen = new Set<string>();

  async function remove(id: string, signal?: AbortSignal): Promise<void> {
    try {
      // v: anonymous volumes (an image's VOLUME) go with the container; named ones are never ours to remove.
      await docker.getContainer(id).remove({ force: true, v: true, abortSignal: signal });
    } catch (err) {
      // 404: already gone; 409: removal already in progress elsewhere.
      if (statusOf(err) !== 404 && statusOf(err) !== 409) throw engineError(`remove ${id}`, err);
    }
  }

  async function start(info: { Id: string }, signal?: AbortSignal): Promise<void> {
    try {
      await docker.getContainer(info.Id).start({ abortSignal: signal });
    } catch (err) {
      if (statusOf(err) !== 304) throw engineError(`start ${info.Id}`, err);
    }
  }

  async function create(spec: RunnerSpec, signal?: AbortSignal): Promise<BackendRef> {
    if (spec.host !== host) throw new FleetError('BACKEND_FAILED', `runner ${spec.name} is for host ${spec.host}, not ${host}`);
    const existing = await inspectOwned(spec.name, signal);
    if (existing && observedState(existing.State.Status) !== 'exited') return { name: spec.name, ref: existing.Id };
    // An exited container under the name is a finished run, a never-started one a crashed
    // create whose spec (JIT config, token) may be stale: either way the replacement starts clean.
    if (existing) await remove(existing.Id, signal);

    const options = createOptions(spec, host);
    const { image, pull } = dockerSettings(spec);
    await ensureImage(image, pull ?? 'missing', signal);
    // Secret file first: the hand-over to the image's user below takes it along.
    await writeSecretFile(spec);
    await prepareRootFor(spec);
    let id: string;
    try {
      id = (await docker.createContainer({ ...options, abortSignal: signal })).id;
    } catch (err) {
      // A concurrent create of the same name won the race: adopt its container.
      if (statusOf(err) === 409) {
        const raced = await inspectOwned(spec.name, signal);
        if (raced) return { name: spec.name, ref: raced.Id };
      }
      if (statusOf(err) === 404) throw new FleetError('IMAGE_MISSING', `image ${image} vanished`, { cause: err });
      throw engineError(`create ${options.name}`, err);
    }
    await opts.failpoint?.('docker.created', spec.name);
    try {
      await start({ Id: id }, signal);
    } catch (err) {
      await remove(id).catch(() => undefined);
      throw err;
    }
    logger.info({ runner: spec.name, container: id.slice(0, 12), image }, 'container started');
    return { name: spec.name, ref: id };
  }

  /**
   * The container runs as docker.user or else the image's own USER (the official image: runner,
   * uid 1001): that user must own its runner root, or the runner exits 126 at once.
   */
  async function prepareRootFor(spec: RunnerSpec): Promise<void> {
    const d = dockerSettings(spec);
    const ids = await imageUser(d.image, d.user ?? spec.user);
    const self = process.getuid?.() ?? 0;
    if (ids.uid === 0 || ids.uid === self) return;
    if ((opts.chownVia ?? (self === 0 ? 'fs' : 'engine')) === 'fs') chownRunnerRoot(spec.root, ids);
    else await chownViaEngine(docker, d.image, spec.root, ids);
  }

  async function destroy(name: string, o: { graceMs: number }, signal?: AbortSignal): Promise<void> {
    oomSeen.delete(name);
    const info = await inspectByName(name, signal);
    if (!info) return;
    if (!isOwned(info.Config.Labels, host, name)) {
      logger.warn({ runner: name }, 'not destroying a container this host does not own');
      return;
    }
    const c = docker.getContainer(info.Id);
    if (info.State.Running) {
      try {
        // SIGINT is the runner's graceful stop: it finishes talking to GitHub and exits.
        await c.kill({ signal: 'SIGINT', abortSignal: signal });
        await waitStopped(c, o.graceMs, clock, signal);
      } catch (err) {
        if (statusOf(err) !== 404 && statusOf(err) !== 409) throw engineError(`kill ${containerName(name)}`, err);
      }
    }
    await remove(info.Id, signal); // force: SIGKILL if the grace ran out
    logger.info({ runner: name }, 'container removed');
    await handBack(info, name);
  }

  /**
   * A daemon that is not root cannot remove (or rewrite) a root it handed to the image's user:
   * the engine hands it back first, so the runner dir cleanup that follows works.
   */
  async function handBack(info: Inspect, name: string): Promise<void> {
    const self = process.getuid?.() ?? 0;
    if ((opts.chownVia ?? (self === 0 ? 'fs' : 'engine')) !== 'engine') return;
    const root = info.Mounts.find((m) => m.Type === 'bind' && m.Source === m.Destination && path.basename(m.Source) === name)?.Source;
    const st = root ? await fs.lstat(root).catch(() => undefined) : undefined;
    if (!root || !st || st.uid === self) return;
    await chownViaEngine(docker, info.Config.Image, root, { uid: self, gid: process.getgid?.() ?? 0 }).catch((err) =>
      logger.warn({ runner: name, err: describeError(err) }, 'could not hand the runner dir back; it is left for a root cleanup'),
    );
  }

  async function logs(name: string, o: { tail: number }): Promise<string> {
    const info = await inspectOwned(name);
    if (!info) throw new FleetError('BACKEND_FAILED', `no container for runner ${name}`);
    try {
      const buf = await docker.getContainer(info.Id).logs({ stdout: true, stderr: true, tail: o.tail, follow: false });
      return info.Config.Tty ? buf.toString('utf8') : demuxLogs(buf);
    } catch (err) {
      throw engineError(`logs ${containerName(name)}`, err);
    }
  }

  async function ping(signal?: AbortSignal): Promise<void> {
    try {
      // dockerode honours abortSignal here; its typings just do not say so.
      await (docker as unknown as { ping(o: object): Promise<unknown> }).ping({ abortSignal: signal });
    } catch (err) {
      throw new FleetError('BACKEND_UNAVAILABLE', `docker engine unreachable: ${describeError(err)}`, { cause: err });
    }
  }

  let root: Promise<string | undefined> | undefined;
  /** Images, containers and volumes live there; asked once (it changes only with a dockerd restart). */
  function dataRoot(): Promise<string | undefined> {
    root ??= (docker.info() as Promise<{ DockerRootDir?: string }>).then((i) => i.DockerRootDir, () => {
      root = undefined;
      return undefined;
    });
    return root;
  }

  return {
    kind: 'docker',
    create,
    destroy,
    list: (signal) => listOwned(docker, host, oomSeen, signal),
    dataRoot,
    watch: (onExit) =>
      watchExits(
        { docker, host, logger, clock, minBackoffMs: opts.watchBackoffMs?.min, maxBackoffMs: opts.watchBackoffMs?.max },
        onExit,
        (runner) => oomSeen.add(runner),
      ),
    logs,
    ping,
  };
}
