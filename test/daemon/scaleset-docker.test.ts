import test from 'ava';
import Dockerode from 'dockerode';
import { startEmulator } from '../emulator/index.js';
import { startTestDaemon, until } from '../helpers/daemon.js';
import { requireDocker, TEST_IMAGE } from '../helpers/engines.js';
import { cleanupDockerDaemon, hostContainers, uniqueHost } from './docker-kit.js';
import { assertQueueClean, deregisterAll, HOLD_MS, LISTENER, scaleSetPoolYaml, SS_LABELS } from './scaleset-kit.js';

const docker = new Dockerode();

test.serial('docker: a burst through a scale set → one container per job, all succeed, none left; queue clean; deregister --all removes the scale set', async (t) => {
  if (!(await requireDocker(t))) return;
  t.timeout(3 * 60_000);
  const host = uniqueHost('ss');
  const name = `${host}-burst`;
  const emu = await startEmulator({ scaleSets: { holdMs: HOLD_MS } });
  t.teardown(() => emu.close());
  const track = cleanupDockerDaemon(t, docker, host);
  const backendYaml = `    backend: docker\n    docker: { image: ${TEST_IMAGE}, network: host, pull: never }\n`;
  const fx = track(await startTestDaemon(t, emu, scaleSetPoolYaml({ backendYaml }), { host, daemon: { scaleSetListener: LISTENER } }));
  await until(() => emu.scaleSets.get(name)?.sessionOwner === host, 30_000, 'session');

  const ids = [1, 2, 3].map((i) => emu.queueJob({ labels: SS_LABELS, script: `echo job-${i}; test -f /.dockerenv && echo in-container` }));
  const jobs = await Promise.all(ids.map((id) => emu.waitForJob(id, 120_000)));
  t.true(jobs.every((j) => j.conclusion === 'success' && j.output.includes('in-container')));
  t.is(new Set(jobs.map((j) => j.runnerName)).size, 3);
  await until(() => fx.daemon.reconciler.liveCount('burst') === 0, 60_000, 'pool back to zero');
  await until(async () => (await hostContainers(docker, host)).length === 0, 30_000, 'containers removed');
  t.is(fx.daemon.store.runners.list({ pool: 'burst', includeGone: true }).length, 3);
  await until(() => emu.scaleSets.get(name)!.messages.every((m) => m.acked), 10_000, 'acks');
  assertQueueClean(t, emu, name);

  t.like(await deregisterAll(fx), { ok: true });
  await until(() => emu.scaleSets.list().length === 0, 30_000, 'scale set deleted');
});
