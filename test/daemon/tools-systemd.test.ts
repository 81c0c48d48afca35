/**
 * CD tools through the daemon with a systemd pool: the daemon runs in-process, its systemd
 * backend talks to a real systemd (PID 1 in a container, host network, the data dir mounted at
 * the same path); the job runs as the non-root user `runner` and finds the tools on PATH.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { sharedMountDir, systemdPoolYaml } from '../helpers/systemd-pool.js';
import { ARGOCD_OUT, HELM_OUT, YQ_OUT, systemdToolsDaemon, toolBin } from './tools-kit.js';

const SHARED = sharedMountDir('rf-tools-sd-');

const POOL = systemdPoolYaml({ size: 1, ephemeral: true, extra: '    env: { DEPLOY_ENV: staging }\n' });

test('systemd pool: tools install, verify and are on the PATH of a job running as the runner user', async (t) => {
  t.timeout(4 * 60_000);
  const host = 'tsd1';
  const started = await systemdToolsDaemon(t, SHARED, host, POOL);
  if (!started) return;
  const { sd, emu, tools, dataDir } = started;
  t.is(statSync(dataDir).mode & 0o777, 0o711, 'the job user can traverse the data dir');

  await emu.waitForRunners((rs) => rs.some((r) => r.name.startsWith(`${host}-cd-`) && r.status === 'online'), 60_000);
  const units = await sd.sh(`systemctl list-units --no-legend --plain 'runner-fleet-${host}-cd-*' | awk '{print $1}'`);
  t.regex(units, new RegExp(`^runner-fleet-${host}-cd-[a-z0-9]{6,}\\.service$`, 'm'));

  const script = `${tools.script}echo "user=$(id -un)"\necho "deploy=$DEPLOY_ENV"\n`;
  const job = await emu.waitForJob(emu.queueJob({ labels: ['self-hosted', 'cd-pipeline'], script }), 60_000);
  t.is(job.conclusion, 'success', job.output);
  for (const out of [ARGOCD_OUT, YQ_OUT, HELM_OUT]) t.true(job.output.includes(out), out);
  for (const [name, version] of [['argocd', 'v2.13.3'], ['yq', 'v4.40.5'], ['helm', 'v3.16.2']] as const) {
    t.true(job.output.includes(`where-${name}=${toolBin(dataDir, name, version)}`), name);
  }
  // Per-runner isolation (the default): the job runs as its runner's own user, in the pool user's group.
  t.regex(job.output, /^user=rf-[0-9a-f]{13}$/m);
  t.regex(job.output, /^deploy=staging$/m);

  // The tools stay root's: the job user can run them but not replace them.
  const bin = toolBin(dataDir, 'argocd', 'v2.13.3');
  t.is(statSync(bin).uid, 0);
  const write = await sd.exec(['runuser', '-u', 'runner', '--', 'sh', '-c', `echo x >> ${bin}`]);
  t.not(write.code, 0, 'runner cannot modify an installed tool');
  // Nor the verified runner cache its own runner dir hard-links to (bin/, config.sh...).
  const cacheRoot = path.join(dataDir, 'cache', 'runner');
  for (const v of readdirSync(cacheRoot).filter((d) => /^\d+\.\d+\.\d+$/.test(d))) {
    for (const f of ['bin/Runner.Listener', 'config.sh', 'run.sh']) t.is(statSync(path.join(cacheRoot, v, f)).uid, 0, `${v}/${f}`);
  }
});
