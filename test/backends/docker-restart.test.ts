/**
 * The events stream across an engine restart. Runs against a private dockerd so stopping
 * "the engine" never disturbs the suites sharing the machine's Docker.
 */
import path from 'node:path';
import test from 'ava';
import Dockerode from 'dockerode';
import { createDockerBackend } from '../../src/backends/docker/index.js';
import type { RunnerExit, RunnerSpec } from '../../src/backends/types.js';
import { isFleetError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { startPrivateDockerd } from '../helpers/dockerd.js';
import { BUSYBOX_IMAGE, requireDocker } from '../helpers/engines.js';
import { until } from '../helpers/poll.js';
import { tempDir } from '../helpers/temp.js';

test('watch survives an engine restart, emits nothing stale, and list fails cleanly while down', async (t) => {
  if (!(await requireDocker(t))) return;
  const engine = await startPrivateDockerd(t);
  await engine.loadFrom(new Dockerode(), BUSYBOX_IMAGE);
  const host = `rs${process.pid}`;
  const backend = createDockerBackend({ host, logger: silentLogger(), docker: engine.docker, watchBackoffMs: { min: 100, max: 500 } });
  const dir = await tempDir(t, 'rf-restart-');
  const spec = async (suffix: string, script: string): Promise<RunnerSpec> => {
    const name = `${host}-cd-${suffix}`;
    const root = path.join(dir, name);
    await (await import('node:fs/promises')).mkdir(root);
    return {
      name, pool: 'cd', host, root, command: ['/bin/sh', '-c', script], env: {}, secretEnv: {}, mounts: [],
      ephemeral: true, network: { dns: [], extraHosts: {} },
      docker: { image: BUSYBOX_IMAGE, runnerFrom: 'cache', privileged: false, dockerSocket: false, imageRunnerDir: '/home/runner', pull: 'never' },
    };
  };

  const exits: RunnerExit[] = [];
  const unwatch = backend.watch!((e) => exits.push(e));
  t.teardown(unwatch);

  const before = await spec('before1', 'sleep 1; exit 5');
  await backend.create(before);
  const e1 = await until(async () => exits.find((e) => e.name === before.name), 30_000, 'exit before restart');
  t.is(e1.exitCode, 5);

  await engine.stop();
  const down = await t.throwsAsync(backend.list());
  t.true(isFleetError(down, 'BACKEND_UNAVAILABLE'));
  await engine.start();

  const after = await spec('after01', 'sleep 1; exit 3');
  await backend.create(after);
  const e2 = await until(async () => exits.find((e) => e.name === after.name), 30_000, 'exit after restart');
  t.is(e2.exitCode, 3);
  t.is(exits.filter((e) => e.name === before.name).length, 1, 'no replay of events from before the restart');
  t.deepEqual((await backend.list()).map((r) => [r.name, r.state, r.exitCode]).sort(), [
    [after.name, 'exited', 3],
    [before.name, 'exited', 5],
  ]);
});
