/**
 * Sibling isolation on systemd (issue 10 item 6): two runners of one pool on a real systemd (PID 1
 * in a container). A job of one runner tries to read the other's root (.runner, .credentials,
 * .credentials_rsaparams) and the other Listener's /proc/<pid>/environ. Then: the per-runner
 * user goes with its runner.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { createSystemdBackend } from '../../src/backends/systemd/index.js';
import type { RunnerSpec } from '../../src/backends/types.js';
import { silentLogger } from '../../src/log.js';
import { startEmulator } from '../emulator/index.js';
import { until } from '../helpers/daemon.js';
import { sharedMountDir, startSystemdDaemon, systemdHostWithRunnerUser, systemdPoolYaml } from '../helpers/systemd-pool.js';

const SHARED = sharedMountDir('rf-sec-sib-');

const SECRETS = ['.runner', '.credentials', '.credentials_rsaparams'];

/** Reads every sibling root's secrets (the runners dir is 0711: names come from ps / the job's own knowledge) and every listed Listener's environ; prints ATTACK-OK on success. */
const attack = (roots: string[], pids: string[]) => `
R="\${RUNNER_WORKSPACE%/_work}"
echo "user=$(id -un) root=$R"
for S in ${roots.join(' ')}; do
  [ "$S" = "$R" ] && continue
  if ls -A "$S" >/dev/null 2>&1; then echo "ATTACK-OK: ls $S"; else echo "refused: ls $S"; fi
  for f in ${SECRETS.join(' ')}; do if cat "$S/$f" >/dev/null 2>&1; then echo "ATTACK-OK: $S/$f"; else echo "refused: $S/$f"; fi; done
done
for p in ${pids.join(' ')}; do
  if cat /proc/$p/environ >/dev/null 2>&1; then echo "environ-readable=$p cwd=$(readlink /proc/$p/cwd)"; fi
done
echo attacks-done
`;

test('systemd: a job cannot read its sibling runner\'s root or its Listener\'s environment', async (t) => {
  t.timeout(5 * 60_000);
  const sd = await systemdHostWithRunnerUser(t, SHARED);
  if (!sd) return;
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const host = 'ssib1';
  const pool = systemdPoolYaml({ size: 2, ephemeral: false });
  const fx = await startSystemdDaemon(t, emu, sd, SHARED, host, pool);
  const mine = () => emu.runners().filter((r) => r.name.startsWith(`${host}-cd-`) && r.status === 'online');
  const both = await until(() => (mine().length === 2 ? mine() : null), 120_000, 'two systemd runners online');
  const roots = both.map((r) => path.join(fx.config.host.dataDir, 'runners', r.name));
  // The secrets are there to steal (the host's root can see them).
  for (const root of roots) t.is((await sd.exec(['test', '-f', path.join(root, '.runner')])).code, 0, `${root}/.runner exists`);
  const pids = await Promise.all(both.map(async (r) => (await sd.sh(`systemctl show -P MainPID runner-fleet-${r.name}.service`)).trim()));

  const job = await emu.waitForJob(emu.queueJob({ labels: ['self-hosted', 'cd-pipeline'], script: attack(roots, pids) }), 120_000);
  t.regex(job.output, /attacks-done/, job.output);
  t.false(job.output.includes('ATTACK-OK'), job.output);
  const readable = [...job.output.matchAll(/^environ-readable=(\d+) cwd=(.*)$/gm)];
  const own = path.join(fx.config.host.dataDir, 'runners', job.runnerName ?? '');
  t.true(readable.every((m) => m[2] === own), `only its own Listener's environ: ${job.output}`);
  t.regex(job.output, /^user=rf-\S+ /m, 'the job ran as its runner\'s own user');
});

test('systemd: the per-runner user is created with the runner and removed with it (idempotently)', async (t) => {
  t.timeout(3 * 60_000);
  const sd = await systemdHostWithRunnerUser(t, SHARED);
  if (!sd) return;
  const host = 'ssib2';
  const backend = createSystemdBackend({ host, logger: silentLogger(), run: sd.run, files: sd.files, pollMs: 200, stopPollMs: 100 });
  t.teardown(() => backend.close?.());
  const name = `${host}-cd-abc123`;
  const root = path.join(SHARED, 'runners', name);
  mkdirSync(root, { recursive: true, mode: 0o755 });
  chmodSync(path.join(SHARED, 'runners'), 0o755);
  const spec: RunnerSpec = {
    name, pool: 'cd', host, root,
    command: ['/bin/sh', '-c', 'id -un > out; exec sleep 300'],
    env: {}, secretEnv: {}, mounts: [], ephemeral: true,
    network: { dns: [], extraHosts: {} }, systemd: { user: 'runner', isolation: 'per-runner' },
  };
  t.teardown(() => backend.destroy(name, { graceMs: 0 }).catch(() => undefined));
  await backend.create(spec);
  const user = await until(async () => {
    const r = await sd.exec(['cat', path.join(root, 'out')]);
    return r.code === 0 && r.stdout.trim() ? r.stdout.trim() : null;
  }, 30_000, 'unit wrote its user');
  t.regex(user, /^rf-[0-9a-f]+$/);
  t.true(user.length <= 32);
  t.is((await sd.sh(`stat -c '%a %U %G' ${root}`)).trim(), `700 ${user} runner`, 'root is the runner user\'s, pool group kept');
  await backend.destroy(name, { graceMs: 0 });
  t.not((await sd.exec(['getent', 'passwd', user])).code, 0, 'user removed');
  await backend.destroy(name, { graceMs: 0 });
  t.deepEqual((await backend.list()).filter((r) => r.name === name), []);
});
