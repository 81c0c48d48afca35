/**
 * Hostile jobs in Docker runners (root container user): what the container gives a job beyond
 * its own files. Each check is an attack that worked before the hardening.
 */
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import Dockerode from 'dockerode';
import { createDockerBackend } from '../../src/backends/docker/index.js';
import { createOptions } from '../../src/backends/docker/spec.js';
import type { RunnerSpec } from '../../src/backends/types.js';
import type { DockerPoolConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/log.js';
import { TEST_IMAGE, requireDocker } from '../helpers/engines.js';
import { until } from '../helpers/poll.js';

const docker = new Dockerode();
const TOKEN = `AREGTOKEN${process.pid}SCOPEWIDE`;
const ODD = `it's "quoted" $HOME \`x\`\nsecond line`;

const dockerConfig = (over: Partial<DockerPoolConfig> = {}): DockerPoolConfig => ({
  image: TEST_IMAGE, runnerFrom: 'cache', privileged: false, dockerSocket: false, imageRunnerDir: '/home/runner', pull: 'never', ...over,
});

/**
 * The "runner": like the persistent start script, it uses the token (here: records that it had
 * it), drops it and execs the Listener; the "job" (its child) then looks everywhere it can.
 */
const RUNNER = `R=$1
printf '%s' "$ACTIONS_RUNNER_INPUT_TOKEN" > $R/runner-had-token
printf '%s' "$ODD_SECRET" > $R/odd
unset ACTIONS_RUNNER_INPUT_TOKEN
exec sh -c '
  R=$1
  for p in /proc/[0-9]*; do cat $p/environ 2>/dev/null; echo; done | tr "\\0" "\\n" > $R/environs
  grep -E "^(CapEff|NoNewPrivs):" /proc/self/status > $R/status
  ls -a $R/.rf > $R/rf-listing
  if mknod $R/mem c 1 1 2>/dev/null; then echo mknod-allowed; else echo mknod-refused; fi > $R/mknod
  touch $R/done
  exec sleep 300' job $R
`;

test('a root job in a Docker runner: capabilities dropped, no new privileges, the registration token nowhere it can read', async (t) => {
  if (!(await requireDocker(t))) return;
  const host = `sh${process.pid}`;
  const backend = createDockerBackend({ host, logger: silentLogger() });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rf-sec-docker-'));
  const name = `${host}-cd-hard01`;
  const root = path.join(dir, 'runners', name);
  await mkdir(root, { recursive: true });
  t.teardown(async () => {
    await backend.destroy(name, { graceMs: 0 }).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  const spec: RunnerSpec = {
    name, pool: 'cd', host, root,
    command: ['/bin/sh', '-c', RUNNER, 'runner', root],
    env: { RUNNER_ALLOW_RUNASROOT: '1' },
    secretEnv: { ACTIONS_RUNNER_INPUT_TOKEN: TOKEN, ODD_SECRET: ODD },
    mounts: [], ephemeral: false, network: { dns: [], extraHosts: {} },
    docker: dockerConfig({ user: '0' }),
  };
  const ref = await backend.create(spec);
  await until(() => readFile(path.join(root, 'done'), 'utf8').then(() => true, () => false), 30_000, 'job done'); // 'done' is empty: exists is the signal

  // The runner itself got its secrets, byte for byte.
  t.is(await readFile(path.join(root, 'runner-had-token'), 'utf8'), TOKEN);
  t.is(await readFile(path.join(root, 'odd'), 'utf8'), ODD);
  // Not in the container's config (PID 1's environment), not in any process the job can read.
  const info = await docker.getContainer(ref.ref).inspect();
  t.false(JSON.stringify(info.Config).includes(TOKEN), 'token in the container config');
  const environs = await readFile(path.join(root, 'environs'), 'utf8');
  t.true(environs.includes('RUNNER_ALLOW_RUNASROOT=1'), 'the job did read the environments');
  t.false(environs.includes(TOKEN), 'registration token readable from /proc/*/environ');
  // The secret file was deleted before the runner started.
  t.false((await readFile(path.join(root, 'rf-listing'), 'utf8')).includes('secret.env'));
  t.false((await readdir(path.join(root, '.rf'))).some((f) => f.startsWith('secret.env')));

  // Docker's default set minus NET_RAW, MKNOD, SETFCAP, SETPCAP, SYS_CHROOT, AUDIT_WRITE; no setuid gains.
  const status = await readFile(path.join(root, 'status'), 'utf8');
  t.regex(status, /^CapEff:\s+00000000000004fb$/m);
  t.regex(status, /^NoNewPrivs:\s+1$/m);
  t.is((await readFile(path.join(root, 'mknod'), 'utf8')).trim(), 'mknod-refused');
  t.false(info.HostConfig.Privileged);
  t.deepEqual(info.HostConfig.CapDrop, ['ALL']);
  t.true((info.HostConfig.SecurityOpt ?? []).some((o: string) => /^no-new-privileges(:true)?$/.test(o)));
  t.false(JSON.stringify(info.Mounts).includes('docker.sock'));
});

test('docker.sudo: no-new-privileges off so a setuid sudo reaches the container root; capabilities stay reduced', async (t) => {
  if (!(await requireDocker(t))) return;
  const host = `su${process.pid}`;
  const backend = createDockerBackend({ host, logger: silentLogger() });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rf-sec-sudo-'));
  const name = `${host}-cd-sudo01`;
  const root = path.join(dir, 'runners', name);
  await mkdir(root, { recursive: true });
  t.teardown(async () => {
    await backend.destroy(name, { graceMs: 0 }).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  await backend.create({
    name, pool: 'cd', host, root,
    command: ['/bin/sh', '-c', 'grep -E "^(CapBnd|NoNewPrivs):" /proc/self/status > $1/status; exec sleep 300', 'runner', root],
    env: { RUNNER_ALLOW_RUNASROOT: '1' }, secretEnv: {}, mounts: [], ephemeral: false, network: { dns: [], extraHosts: {} },
    docker: dockerConfig({ user: '0', sudo: true }),
  });
  const status = await until(() => readFile(path.join(root, 'status'), 'utf8').then((s) => (s.includes('NoNewPrivs') ? s : undefined), () => undefined), 30_000, 'status');
  t.regex(status, /^NoNewPrivs:\s+0$/m);
  t.regex(status, /^CapBnd:\s+00000000000004fb$/m, 'the bounding set is still the reduced one');
});

test('privileged and the Docker socket stay opt-in; a privileged pool is not capability-filtered', (t) => {
  const base = { name: 'h-cd-abcdef', pool: 'cd', host: 'h', root: '/r', command: ['x'], env: {}, secretEnv: { ACTIONS_RUNNER_INPUT_JITCONFIG: 'jit' }, mounts: [], ephemeral: true, network: { dns: [], extraHosts: {} } };
  const plain = createOptions({ ...base, docker: dockerConfig() }, 'h');
  t.false(plain.HostConfig?.Privileged);
  t.deepEqual(plain.HostConfig?.CapDrop, ['ALL']);
  t.false(JSON.stringify(plain).includes('jit'), 'no secret in the create options');
  const asked = createOptions({ ...base, docker: dockerConfig({ privileged: true, dockerSocket: true }) }, 'h');
  t.true(asked.HostConfig?.Privileged);
  t.true(asked.HostConfig?.Mounts?.some((m) => m.Target === '/var/run/docker.sock'));
});
