import { promises as fs } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { createProcessBackend } from '../../src/backends/process/index.js';
import type { RunnerSpec } from '../../src/backends/types.js';
import { FleetError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { tempDir } from '../helpers/temp.js';

// A persistent runner's root outlives its jobs: a job can leave links where the daemon writes
// the next start's log (_diag/rf-process.log) and secret file (.rf/).
async function setup(t: Parameters<typeof tempDir>[0]) {
  const dataDir = await tempDir(t, 'rf-proclog-');
  const outside = await tempDir(t, 'rf-proclog-victim-');
  const victim = path.join(outside, 'victim');
  await fs.writeFile(victim, 'untouched\n');
  const root = path.join(dataDir, 'runners', 'build-01-cd-abc123');
  await fs.mkdir(root, { recursive: true });
  const backend = createProcessBackend({ host: 'build-01', dataDir, logger: silentLogger(), pollMs: 50 });
  t.teardown(() => backend.close?.());
  const spec: RunnerSpec = {
    name: 'build-01-cd-abc123', pool: 'cd', host: 'build-01', root,
    command: ['/bin/sh', '-c', 'echo hello'], env: { PATH: '/usr/bin:/bin' }, secretEnv: { ACTIONS_RUNNER_INPUT_JITCONFIG: 'jit-secret' },
    mounts: [], ephemeral: true, network: { dns: [], extraHosts: {} },
  };
  return { root, outside, victim, backend, spec };
}

test('a job-planted link at the runner log is refused: the daemon appends to nothing outside the root', async (t) => {
  const { root, victim, backend, spec } = await setup(t);
  await fs.mkdir(path.join(root, '_diag'));
  await fs.symlink(victim, path.join(root, '_diag', 'rf-process.log'));
  const err = await t.throwsAsync(backend.create(spec));
  t.is((err as FleetError).code, 'RUNNER_FILE_REFUSED');
  t.is(await fs.readFile(victim, 'utf8'), 'untouched\n');
});

test('a job-planted link in place of _diag or .rf is refused: no log or secret lands outside the root', async (t) => {
  for (const dir of ['_diag', '.rf']) {
    const { root, outside, backend, spec } = await setup(t);
    await fs.symlink(outside, path.join(root, dir));
    const err = await t.throwsAsync(backend.create(spec));
    t.is((err as FleetError).code, 'RUNNER_FILE_REFUSED', dir);
    t.deepEqual((await fs.readdir(outside)).sort(), ['victim'], dir);
  }
});
