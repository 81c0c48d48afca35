import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import Dockerode from 'dockerode';
import { createDockerBackend, parseMemory } from '../../src/backends/docker/index.js';
import { createOptions } from '../../src/backends/docker/spec.js';
import type { RunnerSpec } from '../../src/backends/types.js';
import type { DockerPoolConfig } from '../../src/config/types.js';
import { isFleetError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { BUSYBOX_IMAGE, TEST_IMAGE, requireDocker } from '../helpers/engines.js';
import { until } from '../helpers/poll.js';
import { backendContract } from './contract.js';
import { tempDir } from '../helpers/temp.js';

const docker = new Dockerode();
const dockerConfig = (over: Partial<DockerPoolConfig> = {}): DockerPoolConfig => ({
  image: TEST_IMAGE,
  runnerFrom: 'cache',
  privileged: false,
  dockerSocket: false,
  imageRunnerDir: '/home/runner',
  pull: 'never',
  ...over,
});
const makeBackend = (host: string) => createDockerBackend({ host, logger: silentLogger() });

backendContract(test, 'docker', makeBackend, (base) => ({ ...base, docker: dockerConfig() }), {
  ready: requireDocker,
  foreign: async (runnerName) => {
    // Same container name, no ownership labels: someone else's container.
    const c = await docker.createContainer({ name: `runner-fleet-${runnerName}`, Image: BUSYBOX_IMAGE, Cmd: ['sleep', '300'] });
    await c.start();
    return {
      exists: async () => (await c.inspect().then(() => true, () => false)),
      remove: async () => void (await c.remove({ force: true }).catch(() => undefined)),
    };
  },
});

let n = 0;
async function fixture(t: import('ava').ExecutionContext, script: string, docker: Partial<DockerPoolConfig> = {}, over: Partial<RunnerSpec> = {}) {
  const host = `dt${process.pid}x${n++}`;
  const backend = makeBackend(host);
  const dir = await tempDir(t, 'rf-docker-');
  const name = `${host}-cd-abcdef${n}`;
  const root = path.join(dir, 'runners', name);
  await mkdir(root, { recursive: true });
  t.teardown(async () => {
    await backend.destroy(name, { graceMs: 0 }).catch(() => undefined);
  });
  const spec: RunnerSpec = {
    name, pool: 'cd', host, root,
    command: ['/bin/sh', '-c', script],
    env: { FOO: 'foo' }, secretEnv: { ACTIONS_RUNNER_INPUT_JITCONFIG: 'jit-secret' },
    mounts: [], ephemeral: true, network: { dns: [], extraHosts: {} },
    docker: dockerConfig(docker), ...over,
  };
  return { backend, spec, dir, root, name };
}

test('parseMemory reads docker sizes', (t) => {
  t.is(parseMemory('4g'), 4 * 1024 ** 3);
  t.is(parseMemory('512m'), 512 * 1024 ** 2);
  t.is(parseMemory('1.5G'), 1.5 * 1024 ** 3);
  t.is(parseMemory('64mb'), 64 * 1024 ** 2);
  t.is(parseMemory('1024'), 1024);
  for (const bad of ['', 'lots', '4x', '-1m', '0']) {
    t.true(isFleetError((() => { try { parseMemory(bad); } catch (e) { return e; } })(), 'CONFIG_INVALID'), bad);
  }
});

test('container config: labels, dns, extra hosts, limits, ro mounts; no privilege, socket or restart', async (t) => {
  if (!(await requireDocker(t))) return;
  const f = await fixture(t, '', { cpus: 0.5, memory: '64m', network: 'bridge' });
  const ro = path.join(f.dir, 'tools');
  await mkdir(ro);
  await writeFile(path.join(ro, 'tool'), 'x');
  f.spec.mounts = [{ source: ro, target: ro, readOnly: true }];
  f.spec.network = { dns: ['10.9.8.7'], extraHosts: { 'argocd.internal.example': '10.20.0.15' } };
  f.spec.command = ['/bin/sh', '-c',
    `{ cat /etc/resolv.conf /etc/hosts; touch ${ro}/w 2>/dev/null && echo RW || echo RO; cat ${ro}/tool; echo; } > ${f.root}/out.tmp; mv ${f.root}/out.tmp ${f.root}/out; exec sleep 300`];
  const ref = await f.backend.create(f.spec);
  const info = await docker.getContainer(ref.ref).inspect();
  t.is(info.Name, `/runner-fleet-${f.name}`);
  t.like(info.Config.Labels, {
    'io.runner-fleet.host': f.spec.host, 'io.runner-fleet.pool': 'cd',
    'io.runner-fleet.runner': f.name, 'io.runner-fleet.backend': 'docker',
  });
  const hc = info.HostConfig;
  t.deepEqual(hc.Dns, ['10.9.8.7']);
  t.deepEqual(hc.ExtraHosts, ['argocd.internal.example:10.20.0.15']);
  t.is(hc.NanoCpus, 500_000_000);
  t.is(hc.Memory, 64 * 1024 ** 2);
  t.is(hc.NetworkMode, 'bridge');
  t.false(hc.Privileged);
  t.true((hc as { Init?: boolean }).Init);
  t.true(['', 'no'].includes(hc.RestartPolicy?.Name ?? ''));
  t.false(info.Mounts.some((m) => m.Source === '/var/run/docker.sock' || m.Destination === '/var/run/docker.sock'));
  t.true(info.Mounts.some((m) => m.Source === f.root && m.Destination === f.root && m.RW));
  t.is(info.Config.WorkingDir, f.root);
  const out = await until(() => readFile(path.join(f.root, 'out'), 'utf8').catch(() => undefined), 30_000, 'out');
  t.regex(out, /nameserver 10\.9\.8\.7/);
  t.regex(out, /10\.20\.0\.15\s+argocd\.internal\.example/);
  t.regex(out, /\nRO\nx/);
  // The secret reaches the runner through a file its start wrapper deletes: never env, argv or labels.
  t.false(JSON.stringify([info.Config.Env, info.Config.Cmd, info.Config.Labels, info.Args]).includes('jit-secret'));
});

test('privileged and docker socket only when the pool asks', (t) => {
  // Checked on the options, not a started container: this VM refuses privileged containers.
  const base = { name: 'h-cd-abcdef', pool: 'cd', host: 'h', root: '/r', command: ['x'], env: {}, secretEnv: {}, mounts: [], ephemeral: true, network: { dns: [], extraHosts: {} } };
  const plain = createOptions({ ...base, docker: dockerConfig() }, 'h');
  t.false(plain.HostConfig?.Privileged);
  t.false(JSON.stringify(plain).includes('docker.sock'));
  const asked = createOptions({ ...base, docker: dockerConfig({ privileged: true, dockerSocket: true }) }, 'h');
  t.true(asked.HostConfig?.Privileged);
  t.true(asked.HostConfig?.Mounts?.some((m) => m.Target === '/var/run/docker.sock'));
});

test('docker socket and host network on a real container', async (t) => {
  if (!(await requireDocker(t))) return;
  const f = await fixture(t, `test -S /var/run/docker.sock && echo sock > ${'$'}R/out; exec sleep 300`, { image: BUSYBOX_IMAGE, dockerSocket: true, network: 'host' });
  f.spec.env.R = f.root;
  const ref = await f.backend.create(f.spec);
  const info = await docker.getContainer(ref.ref).inspect();
  t.is(info.HostConfig.NetworkMode, 'host');
  t.false(info.HostConfig.Privileged);
  t.is((await until(() => readFile(path.join(f.root, 'out'), 'utf8').catch(() => undefined), 30_000, 'out')).trim(), 'sock');
});

test('runnerFrom image runs the image runner with cwd in the image', async (t) => {
  if (!(await requireDocker(t))) return;
  const f = await fixture(t, '', { image: BUSYBOX_IMAGE, runnerFrom: 'image', imageRunnerDir: '/home/runner/' });
  const ref = await f.backend.create(f.spec);
  const info = await docker.getContainer(ref.ref).inspect();
  t.deepEqual(info.Config.Cmd?.slice(-2), ['/home/runner/bin/Runner.Listener', 'run']);
  t.is(info.Config.WorkingDir, '/home/runner');
});

test('an exited container under the name is replaced by create', async (t) => {
  if (!(await requireDocker(t))) return;
  const f = await fixture(t, 'exit 0', { image: BUSYBOX_IMAGE });
  const first = await f.backend.create(f.spec);
  await until(async () => (await f.backend.list()).find((r) => r.name === f.name && r.state === 'exited'), 30_000, 'exit');
  f.spec.command = ['/bin/sh', '-c', 'exec sleep 300'];
  const second = await f.backend.create(f.spec);
  t.not(second.ref, first.ref);
  const list = (await f.backend.list()).filter((r) => r.name === f.name);
  t.is(list.length, 1);
  t.is(list[0]!.state, 'running');
});

test('a missing image is IMAGE_MISSING (never pulled, or unpullable)', async (t) => {
  if (!(await requireDocker(t))) return;
  const never = await fixture(t, 'true', { image: 'runner-fleet-test/absent:latest', pull: 'never' });
  const e1 = await t.throwsAsync(never.backend.create(never.spec));
  t.true(isFleetError(e1, 'IMAGE_MISSING'));
  const missing = await fixture(t, 'true', { image: '127.0.0.1:1/absent:latest', pull: 'missing' });
  const e2 = await t.throwsAsync(missing.backend.create(missing.spec));
  t.true(isFleetError(e2, 'IMAGE_MISSING'));
});

test('logs returns stdout and stderr, tail-limited', async (t) => {
  if (!(await requireDocker(t))) return;
  const f = await fixture(t, 'for i in 1 2 3 4 5; do echo out$i; done; sleep 0.3; echo err1 >&2; exec sleep 300', { image: BUSYBOX_IMAGE });
  await f.backend.create(f.spec);
  const text = await until(async () => {
    const s = await f.backend.logs!(f.name, { tail: 3 });
    return s.includes('err1') ? s : undefined;
  }, 30_000, 'logs');
  t.deepEqual(text.trim().split('\n'), ['out4', 'out5', 'err1']);
});

test('SIGINT reaches the command through init; destroy within grace', async (t) => {
  if (!(await requireDocker(t))) return;
  const f = await fixture(t, `trap 'echo got-int > ${'$'}R/sig; exit 0' INT; while :; do sleep 0.1; done`, { image: BUSYBOX_IMAGE });
  f.spec.env.R = f.root;
  await f.backend.create(f.spec);
  await until(async () => (await f.backend.list()).find((r) => r.name === f.name && r.state === 'running'), 30_000, 'running');
  const started = Date.now();
  await f.backend.destroy(f.name, { graceMs: 20_000 });
  t.true(Date.now() - started < 10_000, 'the command stopped on SIGINT rather than the grace running out');
  t.is((await readFile(path.join(f.root, 'sig'), 'utf8')).trim(), 'got-int');
});

test('ping', async (t) => {
  if (!(await requireDocker(t))) return;
  await t.notThrowsAsync(makeBackend('x').ping());
  const dead = createDockerBackend({ host: 'x', logger: silentLogger(), docker: new Dockerode({ socketPath: '/nonexistent.sock' }) });
  const err = await t.throwsAsync(dead.ping());
  t.true(isFleetError(err, 'BACKEND_UNAVAILABLE'));
});

test('destroy removes the container\'s anonymous volumes (an image VOLUME) and nothing unlabelled', async (t) => {
  if (!(await requireDocker(t))) return;
  // A throwaway image declaring a VOLUME, built from the local busybox test image (no registry).
  const image = `rf-capacity-volume:${process.pid}`;
  const build = spawnSync('docker', ['build', '-q', '-t', image, '-'], { input: `FROM ${BUSYBOX_IMAGE}\nVOLUME /scratch\n`, encoding: 'utf8' });
  t.is(build.status, 0, build.stderr);
  t.teardown(() => void spawnSync('docker', ['rmi', '-f', image]));
  const bystander = `rf-capacity-bystander-${process.pid}`;
  await docker.createVolume({ Name: bystander });
  t.teardown(() => docker.getVolume(bystander).remove().catch(() => undefined));
  const f = await fixture(t, 'exec sleep 300', { image, runnerFrom: 'image', imageRunnerDir: '/' });
  await f.backend.create(f.spec);
  const info = await docker.getContainer(`runner-fleet-${f.name}`).inspect();
  const vol = info.Mounts.find((m) => m.Destination === '/scratch')?.Name;
  t.truthy(vol, 'the image VOLUME got an anonymous volume');
  await f.backend.destroy(f.name, { graceMs: 0 });
  await t.throwsAsync(docker.getVolume(vol!).inspect(), undefined, 'the anonymous volume is gone');
  t.truthy(await docker.getVolume(bystander).inspect(), 'an unrelated volume stays');
});
