/**
 * Hostile-job suite on the systemd backend (issue 10 items 3, 4, 5): a job running as its runner's
 * own user (in the pool user's group) on a real systemd (PID 1 in a container, host network, the
 * data dir mounted at the same path). It tries to drain and deregister the fleet over the host loopback,
 * rewrites `.runner` to a foreign registration's id and turns its hook file into a FIFO.
 */
import path from 'node:path';
import test from 'ava';
import { startEmulator } from '../emulator/index.js';
import { until } from '../helpers/daemon.js';
import { sharedMountDir, startSystemdDaemon, systemdHostWithRunnerUser, systemdPoolYaml } from '../helpers/systemd-pool.js';
import { assertHostileRefused, hostileScript } from './kit.js';

const SHARED = sharedMountDir('rf-sec-sd-');

test('systemd (job as its runner user): control calls refused, .runner not trusted, a FIFO hook file neither stalls the daemon nor keeps the runner', async (t) => {
  t.timeout(5 * 60_000);
  const sd = await systemdHostWithRunnerUser(t, SHARED);
  if (!sd) return;
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const foreign = emu.addForeignRunner('org:acme', 'someone-else', { status: 'online' });

  const host = 'ssd1';
  const pool = systemdPoolYaml({ size: 1, ephemeral: false });
  const fx = await startSystemdDaemon(t, emu, sd, SHARED, host, pool);
  const mine = () => emu.runners().filter((r) => r.name.startsWith(`${host}-cd-`) && r.status === 'online');
  const [first] = await until(() => (mine().length === 1 ? mine() : null), 120_000, 'systemd runner online');

  const script = hostileScript(`http://127.0.0.1:${fx.daemon.apiPort}`, foreign.id);
  const job = await emu.waitForJob(emu.queueJob({ labels: ['self-hosted', 'cd-pipeline'], script }), 120_000);
  t.regex(job.output, /^rf-[0-9a-f]+$/m, 'the job ran as its runner\'s own user (isolation: per-runner)');
  assertHostileRefused(t, job.output);

  await until(() => mine().length === 1 && mine()[0]!.name !== first!.name, 120_000, 'replacement runner');
  t.false(emu.runners().some((r) => r.id === first!.id), "the vandalised runner's own registration is gone");
  t.true(emu.runners().some((r) => r.id === foreign.id), 'the foreign registration its .runner named survives');
  t.false([...fx.daemon.reconciler.pools.values()].some((p) => p.draining));
  t.is(fx.daemon.store.runners.get(first!.name)?.reason, 'runner-file-refused');
});
