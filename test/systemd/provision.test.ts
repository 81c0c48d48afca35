/**
 * End to end on a real systemd host (PID 1 in a container, --network host): provisioning/setup-host.sh
 * installs the built package from this checkout, the daemon runs as a systemd service against the
 * GitHub emulator on 127.0.0.1, its systemd pool starts a runner unit, a job runs as its runner's own user
 * (made and removed by the sandboxed daemon),
 * a killed runner unit is replaced, and a daemon restart adopts runners instead of duplicating them.
 *
 * Needs `npm run build` first (dist/ is what gets installed; `npm test` builds before ava).
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { startEmulator } from '../emulator/index.js';
import { until } from '../helpers/poll.js';
import { tempDir } from '../helpers/temp.js';
import { REPO_DIR, requireSystemdHost, type SystemdHost } from '../helpers/systemd-host.js';

const HOST = 'e2e';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

const runnerUnits = async (sd: SystemdHost, state = 'active') =>
  (await sd.sh(`systemctl list-units --no-legend --plain --state=${state} 'runner-fleet-${HOST}-*' | awk '{print $1}'`))
    .split('\n')
    .filter(Boolean);

test('setup-host.sh provisions a systemd host; the daemon runs a systemd pool end to end', async (t) => {
  t.timeout(12 * 60_000);
  if (!existsSync(path.join(REPO_DIR, 'dist', 'cli', 'bin.js'))) {
    t.fail('dist/ missing: run `npm run build` before this test');
    return;
  }
  const dir = await tempDir(t, 'rf-provision-');
  await chmod(dir, 0o755);
  const sd = await requireSystemdHost(t, { mounts: [dir] });
  if (!sd) return;
  const emu = await startEmulator();
  t.teardown(() => emu.close());

  const port = await freePort();
  const config = path.join(dir, 'config.yaml');
  await writeFile(
    config,
    `host:
  name: ${HOST}
  dataDir: /var/lib/runner-fleet
github:
  url: ${emu.url}
  apiUrl: ${emu.apiUrl}
  auth:
    tokenFile: \${CREDENTIALS_DIRECTORY:-/etc/runner-fleet/credentials}/github-token
runner:
  version: latest
tools: []
api:
  listen: 127.0.0.1:${port}
reconcile:
  interval: 1s
shutdown:
  mode: keep
pools:
  - name: sd
    scope: { org: acme }
    labels: [e2e-systemd]
    backend: systemd
    size: 1
    ephemeral: true
    systemd:
      user: runner
`,
  );
  await writeFile(path.join(dir, 'token'), 'test-pat\n', { mode: 0o600 });
  const setup = [
    'bash', path.join(REPO_DIR, 'provisioning', 'setup-host.sh'),
    '--package', REPO_DIR, '--config', config, '--github-token-file', path.join(dir, 'token'),
    // Already in the image: the step is exercised without a trip to a mirror.
    '--apt-packages', 'ca-certificates',
  ];

  const first = await sd.exec(setup);
  t.is(first.code, 0, first.stdout + first.stderr);
  t.regex(first.stdout, /^package:\s+changed$/m);
  t.regex(first.stdout, /^service:\s+changed$/m);

  const second = await sd.exec(setup);
  t.is(second.code, 0, second.stdout + second.stderr);
  const steps = second.stdout.split('\n').filter((l) => /^\w+:\s/.test(l) && !l.startsWith('done:'));
  t.true(steps.length >= 8, second.stdout);
  t.deepEqual(steps.filter((l) => !/\sunchanged$/.test(l)), [], 'second run changes nothing');

  t.is((await sd.sh('systemctl is-active runner-fleet.service')).trim(), 'active');
  t.is((await sd.sh("stat -c '%a' /etc/runner-fleet/credentials/github-token")).trim(), '600');
  // The job user does not get the Docker socket (root on the host) unless --job-docker says so.
  t.false((await sd.sh('id -nG runner')).split(/\s+/).includes('docker'));

  // The pool's runner: a unit, registered with the emulator, taking a job as the job user.
  const [unit] = await until(async () => ((await runnerUnits(sd)).length === 1 ? runnerUnits(sd) : undefined), 120_000, 'runner unit', 500);
  await emu.waitForRunners((rs) => rs.some((r) => r.name.startsWith(`${HOST}-sd-`) && r.status === 'online'), 60_000);
  const jobId = emu.queueJob({ labels: ['self-hosted', 'e2e-systemd'], script: 'echo "user=$(id -un) group=$(id -gn)"', scope: { org: 'acme' } });
  const job = await emu.waitForJob(jobId, 90_000);
  t.is(job.conclusion, 'success', job.output);
  // systemd.isolation defaults to per-runner: under the shipped hardened unit the daemon has the
  // runner's own user made (useradd through PID 1) in the pool user's group.
  const jobUser = /^user=(rf-[0-9a-f]{13}) group=runner$/m.exec(job.output)?.[1];
  t.truthy(jobUser, job.output);

  // A runner killed behind the daemon's back is replaced by a new one.
  const before = await until(async () => {
    const us = await runnerUnits(sd);
    return us.length === 1 && us[0] !== unit ? us[0] : undefined;
  }, 120_000, 'a fresh runner unit', 500);
  // The ephemeral runner that took the job is gone, and so is its user.
  await until(async () => (await sd.exec(['getent', 'passwd', jobUser!])).code === 2, 60_000, 'the job user removed', 500);
  await sd.sh(`systemctl kill --signal=SIGKILL ${before}`);
  const replaced = await until(async () => {
    const us = await runnerUnits(sd);
    return us.length === 1 && us[0] !== before ? us[0] : undefined;
  }, 120_000, 'replacement unit', 500);

  // A daemon restart (shutdown.mode: keep) adopts the running runner: same unit, no second one.
  await sd.sh('systemctl restart runner-fleet.service');
  t.is((await sd.sh('systemctl is-active runner-fleet.service')).trim(), 'active');
  await new Promise((r) => setTimeout(r, 5_000)); // several reconcile intervals (1 s)
  t.deepEqual(await runnerUnits(sd), [replaced]);
  const online = emu.runners().filter((r) => r.name.startsWith(`${HOST}-sd-`));
  t.is(online.length, 1, JSON.stringify(online));
});
