import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import Dockerode from 'dockerode';
import { createDockerBackend } from '../../src/backends/docker/index.js';
import type { RunnerSpec } from '../../src/backends/types.js';
import { silentLogger } from '../../src/log.js';
import { startEmulator } from '../emulator/index.js';
import { startTestDaemon, until, type DaemonFixture } from '../helpers/daemon.js';
import { BUSYBOX_IMAGE, TEST_IMAGE, requireDocker } from '../helpers/engines.js';
import { hostContainers, onlineCount, removeHostContainers, uniqueHost } from './docker-kit.js';

/**
 * The official runner image runs as `USER runner` (uid 1001) and the README's example has no
 * docker.user: the daemon must learn the user from the image and prepare the runner root for it.
 */
const docker = new Dockerode();

/** Derived from the test image: a `runner` user (uid 1001) and USER set by name or by uid. */
async function userImages(t: ExecutionContext): Promise<{ byName: string; byUid: string }> {
  const tag = `rf-faults-imageuser-${process.pid}`;
  const byName = `${tag}-name:latest`;
  const byUid = `${tag}-uid:latest`;
  const c = `${tag}-build`;
  execFileSync('docker', ['run', '--name', c, TEST_IMAGE, 'useradd', '-m', '-u', '1001', '-U', 'runner']);
  try {
    execFileSync('docker', ['commit', '--change', 'USER runner', c, byName], { stdio: 'ignore' });
    execFileSync('docker', ['commit', '--change', 'USER 1001', c, byUid], { stdio: 'ignore' });
  } finally {
    execFileSync('docker', ['rm', '-f', c], { stdio: 'ignore' });
  }
  t.teardown(() => void execFileSync('docker', ['rmi', '-f', byName, byUid], { stdio: 'ignore' }));
  return { byName, byUid };
}

function poolYaml(image: string): string {
  // No docker.user, no RUNNER_ALLOW_RUNASROOT: exactly the README's official-image example.
  return `  - name: cd
    scope: { org: acme }
    labels: [cd-pipeline]
    backend: docker
    size: 1
    ephemeral: true
    docker: { image: ${image}, network: host, pull: never }
`;
}

/** Like /var/lib: the data dir's parent is traversable (mkdtemp makes it 0700). */
async function hostDir(t: ExecutionContext): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rf-imageuser-'));
  await fs.chmod(dir, 0o755);
  // Runs after the daemon stopped (see runPool); retried all the same (a container going away).
  t.teardown(() => fs.rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }));
  return dir;
}

type Emulator = Awaited<ReturnType<typeof startEmulator>>;

async function runPool(t: ExecutionContext, image: string, host: string): Promise<{ fx: DaemonFixture; emu: Emulator }> {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  // Made before the stop below is registered: teardowns run last-registered first, and the dir
  // was once removed while the daemon (still running) was making and cleaning runner roots in it
  // (ENOTEMPTY on data/runners).
  const dir = await hostDir(t);
  let fx: DaemonFixture | undefined;
  t.teardown(async () => {
    await fx?.stop('keep');
    // shutdown() stops waiting for a pass stuck past its bound; the dir goes only once it is over.
    await fx?.daemon.reconciler.stop();
    await removeHostContainers(docker, host);
  });
  fx = await startTestDaemon(t, emu, poolYaml(image), { host, dir });
  return { fx, emu };
}

for (const [title, pick] of [
  ['USER runner (a name resolved through the image)', (i: { byName: string }) => i.byName],
  ['USER 1001 (a numeric uid)', (i: { byUid: string }) => i.byUid],
] as const) {
  test.serial(`docker pool without docker.user: an image with ${title} gets a runner online`, async (t) => {
    if (!(await requireDocker(t))) return;
    t.timeout(3 * 60_000);
    const images = await userImages(t);
    const host = uniqueHost('iu');
    const { fx, emu } = await runPool(t, pick(images), host);
    await emu.waitForRunners((rs) => onlineCount(host, rs) === 1, 60_000);
    const [c] = await hostContainers(docker, host, true);
    t.truthy(c, 'the container keeps running');
    const info = await docker.getContainer(c!.Id).inspect();
    // The image's user, not root: the daemon did not fall back to running the runner as root.
    const top = await docker.getContainer(c!.Id).exec({ Cmd: ['id', '-u'], AttachStdout: true });
    const out = await new Promise<string>((resolve, reject) => {
      top.start({}, (err, stream) => {
        if (err || !stream) return reject(err);
        const chunks: Buffer[] = [];
        stream.on('data', (d: Buffer) => chunks.push(d));
        stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      });
    });
    t.regex(out, /1001/);
    t.not(info.Config.User, 'root');
    const rt = fx.daemon.reconciler.pools.get('cd');
    t.is(rt?.failures, 0);
    t.is(rt?.errorCode, null);
  });
}

test.serial('docker pool whose runner cannot start (exit 127 at once): the pool status says so with a code and a hint', async (t) => {
  if (!(await requireDocker(t))) return;
  t.timeout(3 * 60_000);
  const host = uniqueHost('ib');
  // busybox has no node: the runner's `#!/usr/bin/env node` fails with 127 right after start.
  const { fx } = await runPool(t, BUSYBOX_IMAGE, host);
  const rt = await until(() => {
    const p = fx.daemon.reconciler.pools.get('cd');
    return p?.errorCode === 'RUNNER_START_FAILED' ? p : undefined;
  }, 60_000, 'RUNNER_START_FAILED on the pool');
  t.regex(rt.error ?? '', /127/);
  t.truthy(rt.hint, 'a hint says what to check');
  t.true(rt.failures > 0, 'the crash-loop backoff still applies');
});

test.serial('a daemon that is not root (docker group) hands the runner root to the image user through the engine, and takes it back on destroy', async (t) => {
  if (!(await requireDocker(t))) return;
  t.timeout(2 * 60_000);
  const images = await userImages(t);
  const host = uniqueHost('ie');
  // As the shipped unit runs it: no chown of its own, the engine does it.
  const backend = createDockerBackend({ host, logger: silentLogger(), chownVia: 'engine' });
  const dir = await hostDir(t);
  const name = `${host}-cd-abcdef1`;
  const root = path.join(dir, 'runners', name);
  await fs.mkdir(root, { recursive: true, mode: 0o700 });
  await fs.chmod(path.join(dir, 'runners'), 0o711);
  await fs.writeFile(path.join(root, '.env'), 'A=1\n', { mode: 0o600 });
  t.teardown(() => backend.destroy(name, { graceMs: 0 }).catch(() => undefined));
  const spec: RunnerSpec = {
    name, pool: 'cd', host, root,
    command: ['/bin/sh', '-c', `cat ${root}/.env > ${root}/seen && mkdir -p ${root}/_work && id -u > ${root}/_work/uid; exec sleep 300`],
    env: {}, secretEnv: {}, mounts: [], ephemeral: true, network: { dns: [], extraHosts: {} },
    docker: { image: images.byName, runnerFrom: 'cache', privileged: false, dockerSocket: false, imageRunnerDir: '/home/runner', pull: 'never' },
  };
  await backend.create(spec);
  const uid = await until(() => fs.readFile(path.join(root, '_work', 'uid'), 'utf8').catch(() => undefined), 30_000, 'the runner wrote into its root');
  t.is(uid.trim(), '1001');
  t.is((await fs.readFile(path.join(root, 'seen'), 'utf8')), 'A=1\n', 'it read its 0600 .env');
  await backend.destroy(name, { graceMs: 0 });
  for (const p of [root, path.join(root, '_work'), path.join(root, '_work', 'uid')]) {
    t.is((await fs.lstat(p)).uid, process.getuid!(), `${p} handed back to the daemon`);
  }
});
