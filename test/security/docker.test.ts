/**
 * Hostile-job suite on the Docker backend (issue 10 items 3, 4, 5): a job running as root in its
 * container, on the host's network (network: host), with its runner root mounted read-write.
 * It tries to drain and deregister the fleet over the host loopback, rewrites `.runner` to a
 * foreign registration's id, and turns its hook file into a FIFO: the calls are refused, the
 * daemon's health keeps answering, and the runner is replaced without touching the foreign one.
 */
import test from 'ava';
import fs from 'node:fs/promises';
import Dockerode from 'dockerode';
import { startEmulator } from '../emulator/index.js';
import { startTestDaemon, until, type DaemonFixture } from '../helpers/daemon.js';
import { TEST_IMAGE, requireDocker } from '../helpers/engines.js';
import { onlineCount, ours, removeHostContainers, uniqueHost } from '../daemon/docker-kit.js';
import { assertHostileRefused, hostileScript } from './kit.js';

const docker = new Dockerode();

test('docker (root job, network host): control calls refused, .runner not trusted, a FIFO hook file neither stalls the daemon nor keeps the runner', async (t) => {
  if (!(await requireDocker(t))) return;
  t.timeout(4 * 60_000);
  const host = uniqueHost('sd');
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const foreign = emu.addForeignRunner('org:acme', 'someone-else', { status: 'online' });
  let fx: DaemonFixture | undefined;
  t.teardown(async () => {
    await fx?.stop('keep');
    await removeHostContainers(docker, host);
    if (fx) await fs.rm(fx.dir, { recursive: true, force: true });
  });
  fx = await startTestDaemon(t, emu, `  - name: cd
    scope: { org: acme }
    labels: [cd-pipeline]
    backend: docker
    size: 1
    ephemeral: false
    env: { RUNNER_ALLOW_RUNASROOT: "1" }
    docker: { image: ${TEST_IMAGE}, network: host, pull: never }
`, { host });
  await until(() => onlineCount(host, emu.runners()) === 1, 120_000, 'docker runner online');
  const [first] = ours(host, emu.runners());
  const base = `http://127.0.0.1:${fx.daemon.apiPort}`;
  const script = hostileScript(base, foreign.id);
  const job = await emu.waitForJob(emu.queueJob({ labels: ['self-hosted', 'linux', 'cd-pipeline'], script }), 120_000);
  t.regex(job.output, /^root$/m, 'the job ran as root in its container');
  assertHostileRefused(t, job.output);

  await until(() => {
    const mine = ours(host, emu.runners()).filter((r) => r.status === 'online');
    return mine.length === 1 && mine[0]!.name !== first!.name;
  }, 120_000, 'replacement runner');
  t.false(emu.runners().some((r) => r.id === first!.id), "the vandalised runner's own registration is gone");
  t.true(emu.runners().some((r) => r.id === foreign.id), 'the foreign registration its .runner named survives');
  t.false([...fx.daemon.reconciler.pools.values()].some((p) => p.draining));
  t.is(fx.daemon.store.runners.get(first!.name)?.reason, 'runner-file-refused');
});
