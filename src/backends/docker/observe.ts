import type Dockerode from 'dockerode';
import type { ObservedRunner } from '../types.js';
import { engineError, statusOf } from './engine.js';
import { LABEL_HOST, LABEL_POOL, LABEL_RUNNER, isOwned } from './spec.js';
import { exitFromCode, observedState } from './state.js';

async function observe(docker: Dockerode, host: string, oomSeen: ReadonlySet<string>, summary: Dockerode.ContainerInfo, signal?: AbortSignal): Promise<ObservedRunner | undefined> {
  const labels = summary.Labels;
  if (!isOwned(labels, host)) return undefined;
  const base = { name: labels[LABEL_RUNNER]!, pool: labels[LABEL_POOL] ?? '', backend: 'docker' as const, ref: summary.Id };
  let info: Dockerode.ContainerInspectInfo;
  try {
    info = await docker.getContainer(summary.Id).inspect({ abortSignal: signal });
  } catch (err) {
    if (statusOf(err) === 404) return undefined; // removed between list and inspect
    throw engineError(`inspect ${summary.Id}`, err);
  }
  const state = observedState(info.State.Status);
  const startedAt = Date.parse(info.State.StartedAt);
  // A never-started container has no exit code (Docker says 0, which would read as a clean exit).
  const exit = info.State.Status === 'created' ? { exitCode: null } : exitFromCode(info.State.ExitCode);
  const oom = info.State.OOMKilled || oomSeen.has(base.name);
  return {
    ...base,
    state,
    ...(startedAt > 0 ? { startedAt } : {}),
    ...(state === 'exited' ? { ...exit, ...(oom ? { oomKilled: true } : {}) } : {}),
  };
}

/**
 * This host's containers as the reconciler sees them. `oomSeen`: runners whose container had an
 * OOM kill (engine `oom` event) since their last destroy.
 */
export async function listOwned(docker: Dockerode, host: string, oomSeen: ReadonlySet<string>, signal?: AbortSignal): Promise<ObservedRunner[]> {
  let all: Dockerode.ContainerInfo[];
  try {
    all = await docker.listContainers({ all: true, filters: { label: [`${LABEL_HOST}=${host}`] }, abortSignal: signal });
  } catch (err) {
    throw engineError('list containers', err);
  }
  const out: ObservedRunner[] = [];
  // A few at a time: enough to be quick, not enough to flood the engine.
  for (let i = 0; i < all.length; i += 8) {
    const batch = await Promise.all(all.slice(i, i + 8).map((s) => observe(docker, host, oomSeen, s, signal)));
    for (const r of batch) if (r) out.push(r);
  }
  return out;
}
