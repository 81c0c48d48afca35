import fs from 'node:fs/promises';
import test from 'ava';
import Dockerode from 'dockerode';
import { createDockerBackend, LABEL_HOST, LABEL_POOL, LABEL_RUNNER } from '../../src/backends/docker/index.js';
import type { Backend, RunnerExit } from '../../src/backends/types.js';
import { silentLogger } from '../../src/log.js';
import { startEmulator } from '../emulator/index.js';
import { startTestDaemon, until, type DaemonFixture } from '../helpers/daemon.js';
import { BUSYBOX_IMAGE, requireDocker } from '../helpers/engines.js';
import {
  ARGOCD_OUT, YQ_OUT, capturedLogger, dockerPoolYaml, hostContainers, onlineCount, ours, removeHostContainers,
  secretsDir, toolsYaml, uniqueHost,
} from './docker-kit.js';

const docker = new Dockerode();
const SECRET = `argocd-secret-${process.pid}-do-not-log`;
const CANARY = `daemon-env-canary-${process.pid}`;

/** The real Docker backend, with its exit reports recorded on the way to the reconciler. */
function recordingBackend(host: string): { backend: Backend; exits: RunnerExit[] } {
  const real = createDockerBackend({ host, logger: silentLogger() });
  const exits: RunnerExit[] = [];
  const backend: Backend = {
    ...real,
    watch: (onExit) => real.watch!((e) => {
      exits.push(e);
      onExit(e);
    }),
  };
  return { backend, exits };
}

const JOB = `argocd version --client && yq --version
echo "HTTPS_PROXY=$HTTPS_PROXY"
echo "https_proxy=$https_proxy"
if grep -q 'BEGIN CERTIFICATE' "$NODE_EXTRA_CA_CERTS"; then echo "node-ca-readable=$NODE_EXTRA_CA_CERTS"; fi
if grep -q 'BEGIN CERTIFICATE' "$SSL_CERT_FILE"; then echo "ssl-ca-readable=$SSL_CERT_FILE"; fi
echo "secret=$ARGOCD_AUTH_TOKEN"
echo "deploy=$DEPLOY_ENV"
if [ -f /.dockerenv ]; then echo in-container=yes; fi
grep argocd.internal.example /etc/hosts
env
`;

test.serial('docker pool: online through the engine, inspectable, runs a job cleanly, replaced after docker kill', async (t) => {
  if (!(await requireDocker(t))) return;
  t.timeout(3 * 60_000);
  const host = uniqueHost('de');
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const sec = await secretsDir(t, SECRET);
  process.env.RF_CANARY_SECRET = CANARY;
  t.teardown(() => void delete process.env.RF_CANARY_SECRET);
  const log = capturedLogger();
  const { backend, exits } = recordingBackend(host);
  let fx: DaemonFixture | undefined;
  t.teardown(async () => {
    await fx?.stop('keep');
    await removeHostContainers(docker, host);
    if (fx) await fs.rm(fx.dir, { recursive: true, force: true });
  });
  fx = await startTestDaemon(t, emu, dockerPoolYaml({ secretFile: sec.secretFile, caFile: sec.caFile }), {
    host, extra: toolsYaml(emu), logger: log.logger, daemon: { backends: { docker: backend } },
  });
  const t0 = Date.now();

  // 1. Online: the runners in the containers reach the emulator on 127.0.0.1 (network: host).
  await emu.waitForRunners((rs) => onlineCount(host, rs) === 2, 60_000);
  t.log(`2 runners online after ${Date.now() - t0} ms`);
  const names = ours(host, emu.runners()).map((r) => r.name).sort();
  t.true(ours(host, emu.runners()).every((r) => r.labels.map((l) => l.toLowerCase()).includes('cd-pipeline')));

  // 2. What the engine was asked for.
  const running = await hostContainers(docker, host, true);
  t.deepEqual(running.map((c) => c.Labels[LABEL_RUNNER]).sort(), names);
  for (const c of running) {
    const info = await docker.getContainer(c.Id).inspect();
    const runner = info.Config.Labels[LABEL_RUNNER]!;
    t.is(info.Name, `/runner-fleet-${runner}`);
    t.is(info.Config.Labels[LABEL_HOST], host);
    t.is(info.Config.Labels[LABEL_POOL], 'cd');
    t.is(info.HostConfig.NetworkMode, 'host');
    t.deepEqual(info.HostConfig.Dns, ['10.0.0.2']);
    t.deepEqual(info.HostConfig.ExtraHosts, ['argocd.internal.example:10.20.0.15']);
    t.is(info.HostConfig.NanoCpus, 1e9);
    t.is(info.HostConfig.Memory, 512 * 1024 ** 2);
    t.false(info.HostConfig.Privileged);
    t.true(['no', ''].includes(info.HostConfig.RestartPolicy?.Name ?? ''));
    t.false(info.Mounts.some((m) => /docker\.sock/.test(`${m.Source} ${m.Destination}`)), 'no docker socket');
    // Same-path mounts, except the shared runner files, bound read-only over the runner root's mount points.
    const root = `${fx.config.host.dataDir}/runners/${runner}/`;
    const cache = `${fx.config.host.dataDir}/cache/runner/`;
    for (const m of info.Mounts) {
      if (m.Destination.startsWith(root)) t.true(m.Source.startsWith(cache) && m.RW === false, `${m.Destination} is a read-only cache mount`);
      else t.is(m.Source, m.Destination, 'same-path mount');
    }
    for (const ro of [sec.caFile, `${fx.config.host.dataDir}/tools`]) {
      t.is(info.Mounts.find((m) => m.Destination === ro)?.RW, false, `${ro} mounted read-only`);
    }
    t.false(info.Config.Env.some((e) => e.includes(CANARY)), 'daemon env not in the container');
  }

  // 3. A job: tools on PATH, proxy, CA, secret; nothing of the daemon's env, no JIT config.
  const jobId = emu.queueJob({ labels: ['self-hosted', 'linux', 'cd-pipeline'], script: JOB });
  const job = await emu.waitForJob(jobId, 60_000);
  t.is(job.conclusion, 'success', job.output);
  t.true(names.includes(job.runnerName!));
  for (const want of [ARGOCD_OUT, YQ_OUT, 'in-container=yes', 'deploy=staging', `secret=${SECRET}`,
    'HTTPS_PROXY=http://proxy.internal.example:3128', 'https_proxy=http://proxy.internal.example:3128',
    `node-ca-readable=${sec.caFile}`, 'ssl-ca-readable=', '10.20.0.15\targocd.internal.example']) {
    t.true(job.output.includes(want), `job output lacks ${JSON.stringify(want)}`);
  }
  t.false(job.output.includes(CANARY), 'daemon environment leaked into the job');
  t.false(job.output.includes('ACTIONS_RUNNER_INPUT_JITCONFIG'), 'JIT config visible to the job');
  t.false(job.output.includes('test-pat'), 'daemon GitHub token visible to the job');

  // The ephemeral runner that took the job is replaced: two online again, one new.
  await emu.waitForRunners((rs) => onlineCount(host, rs) === 2 && !ours(host, rs).some((r) => r.name === job.runnerName), 60_000);

  // 4. docker kill: the events stream reports the death, the daemon replaces the runner.
  const victim = (await hostContainers(docker, host, true))[0]!;
  const victimName = victim.Labels[LABEL_RUNNER]!;
  await docker.getContainer(victim.Id).kill();
  const seen = await until(() => exits.find((e) => e.name === victimName), 15_000, 'die event');
  t.is(seen.signal, 'SIGKILL');
  t.is(seen.exitCode, null);
  await emu.waitForRunners((rs) => onlineCount(host, rs) === 2 && !ours(host, rs).some((r) => r.name === victimName), 60_000);
  await until(async () => (await hostContainers(docker, host)).length === 2 && (await hostContainers(docker, host, true)).length === 2,
    15_000, 'two running containers, the killed one removed');
  const ended = fx.daemon.store.events.recent(20, { runner: victimName, kind: 'runner.exited' });
  t.is(ended.length, 1, 'the killed runner was reaped once');
  t.log(`scenario done after ${Date.now() - t0} ms`);

  // The secret's value (and the JIT config variable) never reached a log line.
  t.true(log.lines.length > 10);
  t.false(log.lines.some((l) => l.includes(SECRET)), 'secret value in a daemon log line');
  t.false(log.lines.some((l) => /ACTIONS_RUNNER_INPUT_JITCONFIG=/.test(l)));
});

test.serial('adoption: a restarted daemon adopts its running containers; foreign and unlabelled ones are never touched', async (t) => {
  if (!(await requireDocker(t))) return;
  t.timeout(3 * 60_000);
  const host = uniqueHost('da');
  const emu = await startEmulator();
  t.teardown(() => emu.close());

  // Named like ours, but owned by another host / by nobody.
  const foreign = await docker.createContainer({
    name: `runner-fleet-${host}-cd-foreign1`, Image: BUSYBOX_IMAGE, Cmd: ['sleep', '600'],
    Labels: { [LABEL_HOST]: `${host}x`, [LABEL_POOL]: 'cd', [LABEL_RUNNER]: `${host}-cd-foreign1` },
  });
  const unlabelled = await docker.createContainer({ name: `runner-fleet-${host}-cd-nolabel1`, Image: BUSYBOX_IMAGE, Cmd: ['sleep', '600'] });
  await foreign.start();
  await unlabelled.start();

  let fx: DaemonFixture | undefined;
  t.teardown(async () => {
    await fx?.stop('keep');
    await removeHostContainers(docker, host, [foreign.id, unlabelled.id]);
    if (fx) await fs.rm(fx.dir, { recursive: true, force: true });
  });
  fx = await startTestDaemon(t, emu, dockerPoolYaml(), { host });
  await emu.waitForRunners((rs) => onlineCount(host, rs) === 2, 60_000);
  const before = (await hostContainers(docker, host, true)).map((c) => c.Id).sort();
  const registered = emu.runners().length;
  t.is(before.length, 2);

  await fx.stop('keep');
  t.deepEqual((await hostContainers(docker, host, true)).map((c) => c.Id).sort(), before, 'keep leaves the containers running');

  // Same config and data dir: the new daemon must find, not recreate.
  const t0 = Date.now();
  fx = await startTestDaemon(t, emu, dockerPoolYaml(), { host, dir: fx.dir });
  await fx.daemon.ready;
  const passes = new Set<number>();
  await until(() => {
    if (fx!.daemon.reconciler.lastReconcileAt) passes.add(fx!.daemon.reconciler.lastReconcileAt);
    return passes.size >= 4;
  }, 30_000, 'four reconcile passes');
  t.log(`adopted in ${Date.now() - t0} ms`);

  t.deepEqual((await hostContainers(docker, host, true)).map((c) => c.Id).sort(), before, 'adopted, not replaced');
  t.is((await hostContainers(docker, host)).length, 2, 'no duplicates');
  t.is(emu.runners().length, registered, 'no new registrations');
  t.is(onlineCount(host, emu.runners()), 2);
  const rows = fx.daemon.store.runners.list().filter((r) => r.state !== 'gone');
  t.is(rows.length, 2);

  // The foreign containers are still there, running, with their labels untouched.
  for (const c of [foreign, unlabelled]) t.true((await c.inspect()).State.Running);
  t.false(fx.daemon.store.runners.list().some((r) => /foreign1|nolabel1/.test(r.name)));

  // An adopted runner still works: it takes a job and is replaced afterwards.
  const job = await emu.waitForJob(emu.queueJob({ labels: ['self-hosted', 'cd-pipeline'], script: 'echo adopted-ok' }), 60_000);
  t.is(job.conclusion, 'success');
  t.regex(job.output, /adopted-ok/);
  await emu.waitForRunners((rs) => onlineCount(host, rs) === 2 && !ours(host, rs).some((r) => r.name === job.runnerName), 60_000);
  for (const c of [foreign, unlabelled]) t.true((await c.inspect()).State.Running);
});
