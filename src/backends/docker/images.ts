import type Dockerode from 'dockerode';
import { FleetError, describeError } from '../../errors.js';
import type { Logger } from '../../log.js';

/** One line of `docker pull` progress, as the engine streams it. */
export interface PullProgress {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
}

export type PullPolicy = 'missing' | 'always' | 'never';

export interface ImageDeps {
  docker: Dockerode;
  logger: Logger;
  onPullProgress?: (image: string, p: PullProgress) => void;
}

function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number } | null)?.statusCode;
}

async function present(docker: Dockerode, image: string, signal?: AbortSignal): Promise<boolean> {
  try {
    await docker.getImage(image).inspect({ abortSignal: signal } as Dockerode.ImageInspectOptions);
    return true;
  } catch (err) {
    if (statusOf(err) === 404) return false;
    throw new FleetError('BACKEND_UNAVAILABLE', `inspecting image ${image}`, { cause: err });
  }
}

async function pull(deps: ImageDeps, image: string, signal?: AbortSignal): Promise<void> {
  const stream = await deps.docker.pull(image, { abortSignal: signal });
  await new Promise<void>((resolve, reject) => {
    deps.docker.modem.followProgress(
      stream,
      // The engine reports a failed pull as an `error` line in a 200 stream, not as a status code.
      (err: Error | null, out: Array<{ error?: string }>) => {
        const failed = err ?? out.find((o) => o.error)?.error;
        if (failed) reject(failed instanceof Error ? failed : new Error(failed));
        else resolve();
      },
      (p: PullProgress) => deps.onPullProgress?.(image, p),
    );
  });
}

/**
 * Makes `image` available locally per the pool's pull policy. Anything that leaves it missing
 * is IMAGE_MISSING: the pool backs off and retries while other pools run on.
 */
export async function ensureImage(deps: ImageDeps, image: string, policy: PullPolicy, signal?: AbortSignal): Promise<void> {
  const local = await present(deps.docker, image, signal);
  if (local && policy !== 'always') return;
  if (!local && policy === 'never') {
    throw new FleetError('IMAGE_MISSING', `image ${image} is not present and pull is "never"`);
  }
  try {
    deps.logger.info({ image }, 'pulling image');
    await pull(deps, image, signal);
  } catch (err) {
    if (signal?.aborted) throw err;
    if (local) {
      // `always` is about freshness; a stale local image beats not running at all.
      deps.logger.warn({ image, err: describeError(err) }, 'image pull failed; using the local copy');
      return;
    }
    throw new FleetError('IMAGE_MISSING', `image ${image} is not present and could not be pulled`, { cause: err });
  }
  if (!(await present(deps.docker, image, signal))) {
    throw new FleetError('IMAGE_MISSING', `image ${image} still missing after pull`);
  }
}

/** Collapses concurrent ensureImage calls for the same image into one pull. */
export function imageEnsurer(deps: ImageDeps) {
  const inflight = new Map<string, Promise<void>>();
  return (image: string, policy: PullPolicy, signal?: AbortSignal): Promise<void> => {
    const key = `${policy}\0${image}`;
    let p = inflight.get(key);
    if (!p) {
      p = ensureImage(deps, image, policy, signal).finally(() => inflight.delete(key));
      inflight.set(key, p);
    }
    return p;
  };
}
