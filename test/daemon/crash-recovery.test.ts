import test from 'ava';
import Dockerode from 'dockerode';
import { LABEL_HOST_ID, LABEL_RUNNER } from '../../src/backends/docker/index.js';
import { startEmulator } from '../emulator/index.js';
import { poolYaml, startTestDaemon, until } from '../helpers/daemon.js';
import { requireDocker } from '../helpers/engines.js';
import { parkedAfterRegistration, parkedRunner, spawnDaemon, waitLog } from './crash-kit.js';
import { dockerPoolYaml, hostContainers, onlineCount, removeHostContainers, uniqueHost } from './docker-kit.js';
import { alive, killRunners, liveRows, online, ours, pidRecords, stopAndKillRunners } from './lifecycle-kit.js';

/**
 * Crash between two calls: each case SIGKILLs a real daemon process parked between the two
 * steps of an action, then starts a new daemon on the same data dir and checks it recovers.
 */

const docker = new Dockerode();

test.serial('docker: a container created but never started (SIGKILL between create and start) is replaced, not counted as running', async (t) => {
  if (!(await requireDocker(t))) return;
  t.timeout(3 * 60_000);
  const host = uniqueHost('cr');
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  t.teardown(() => removeHostContainers(docker, host));
  const pools = dockerPoolYaml({ size: 1 });
  const a = await spawnDaemon(t, emu, pools, { host, failpoints: ['docker.created'] });
  await waitLog(a, /failpoint reached/, 120_000);
  const crashed = parkedRunner(a, 'docker.created');
  await a.kill();
  const left = await hostContainers(docker, host);
  t.deepEqual(left.map((c) => [c.Labels[LABEL_RUNNER], c.State]), [[crashed, 'created']], 'the crash left a never-started container');

  const b = await startTestDaemon(t, emu, pools, { dir: a.dir, host });
  t.teardown(() => b.stop('keep'));
  await emu.waitForRunners((rs) => onlineCount(host, rs) === 1, 90_000);
  const now = await hostContainers(docker, host);
  t.is(now.length, 1);
  t.is(now[0]!.State, 'running');
  t.not(now[0]!.Labels[LABEL_RUNNER], crashed, 'the never-started container was replaced');
  t.is(now[0]!.Labels[LABEL_HOST_ID], b.daemon.store.meta.get('host_id'), 'the container carries the host id');
  await until(() => !emu.runners().some((r) => r.name === crashed), 30_000, 'crashed runner deregistered');
  t.is(b.daemon.store.runners.get(crashed)?.state, 'gone');
});

test.serial('process: SIGKILL between JIT registration and backend create: the registration is deleted and the pool refilled', async (t) => {
  t.timeout(2 * 60_000);
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const pools = poolYaml({ name: 'cd', size: 1 });
  const { daemon: a, runner: crashed } = await parkedAfterRegistration(t, emu, pools);
  await a.kill();
  t.true(emu.runners().some((r) => r.name === crashed && r.status === 'offline'), 'registered, never started');

  const b = await startTestDaemon(t, emu, pools, { dir: a.dir });
  t.teardown(() => stopAndKillRunners(b));
  await until(() => online(emu).length === 1, 30_000, 'one runner online');
  await until(() => !emu.runners().some((r) => r.name === crashed), 30_000, 'leaked registration deleted');
  t.is(ours(emu.runners()).length, 1);
  t.is(b.daemon.store.runners.get(crashed)?.state, 'gone');
});

test.serial('process: SIGKILL between deregistration and destroy (a scale-down by SIGHUP): the runner is stopped at the next start', async (t) => {
  t.timeout(2 * 60_000);
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const a = await spawnDaemon(t, emu, poolYaml({ name: 'cd', size: 2 }), { failpoints: ['retire.deregistered'] });
  const dataDir = `${a.dir}/data`;
  t.teardown(() => killRunners(dataDir));
  await until(() => online(emu).length === 2, 30_000, 'two runners online');
  await a.reload(poolYaml({ name: 'cd', size: 1 }));
  await waitLog(a, /failpoint reached/);
  const crashed = parkedRunner(a, 'retire.deregistered');
  await a.kill();
  const pid = (await pidRecords(dataDir)).find((r) => r.name === crashed)?.pid;
  t.false(emu.runners().some((r) => r.name === crashed), 'deregistered before the crash');

  const b = await startTestDaemon(t, emu, poolYaml({ name: 'cd', size: 1 }), { dir: a.dir });
  t.teardown(() => stopAndKillRunners(b));
  await until(() => b.daemon.store.runners.get(crashed)?.state === 'gone', 30_000, 'retire finished');
  t.false(pid !== undefined && alive(pid), 'the deregistered runner process is stopped');
  t.false((await pidRecords(dataDir)).some((r) => r.name === crashed));
  await until(() => online(emu).length === 1, 30_000, 'the other runner still online');
  t.is(liveRows(b, 'cd').length, 1);
});

test.serial('process: SIGKILL between backend create and recording it: the running runner is kept (not doubled, not killed)', async (t) => {
  t.timeout(2 * 60_000);
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const pools = poolYaml({ name: 'cd', size: 1 });
  const a = await spawnDaemon(t, emu, pools, { failpoints: ['create.started'] });
  t.teardown(() => killRunners(`${a.dir}/data`));
  await waitLog(a, /failpoint reached/);
  const started = parkedRunner(a, 'create.started');
  await a.kill();
  await until(() => online(emu).length === 1, 30_000, 'the runner came online on its own');

  const b = await startTestDaemon(t, emu, pools, { dir: a.dir });
  t.teardown(() => stopAndKillRunners(b));
  for (let i = 0; i < 3; i++) {
    await b.daemon.reconciler.trigger();
    await b.daemon.reconciler.settled();
  }
  t.is(b.daemon.store.runners.get(started)?.state, 'idle', 'the creating row is recovered as idle');
  t.deepEqual(ours(emu.runners()).map((r) => r.name), [started], 'no second runner');
});

test.serial('process: SIGKILL between spawning the runner and writing its pid file: the next start finds and adopts it, no second runner', async (t) => {
  t.timeout(2 * 60_000);
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const pools = poolYaml({ name: 'cd', size: 1 });
  const a = await spawnDaemon(t, emu, pools, { failpoints: ['process.spawned'] });
  const dataDir = `${a.dir}/data`;
  t.teardown(() => killRunners(dataDir));
  await waitLog(a, /failpoint reached/);
  const spawned = parkedRunner(a, 'process.spawned');
  await a.kill();
  t.deepEqual(await pidRecords(dataDir), [], 'the crash left the runner without a pid file');
  await until(() => online(emu).length === 1, 30_000, 'the unrecorded runner came online');

  const b = await startTestDaemon(t, emu, pools, { dir: a.dir });
  t.teardown(() => stopAndKillRunners(b));
  for (let i = 0; i < 3; i++) {
    await b.daemon.reconciler.trigger();
    await b.daemon.reconciler.settled();
  }
  const recs = await pidRecords(dataDir);
  t.deepEqual(recs.map((r) => r.name), [spawned], 'found and recorded');
  t.true(alive(recs[0]!.pid));
  t.is(b.daemon.store.runners.get(spawned)?.state, 'idle');
  t.deepEqual(ours(emu.runners()).map((r) => r.name), [spawned], 'no second runner');
  // And it is stoppable like any other: a drain stop removes it.
  await b.stop('drain');
  t.false(alive(recs[0]!.pid));
});
