/**
 * CD tools through the daemon with a systemd pool: the daemon runs in-process, its systemd
 * backend talks to a real systemd (PID 1 in a container, host network, the data dir mounted at
 * the same path); the job runs as the non-root user `runner` and finds the tools on PATH.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { createSystemdBackend } from '../../src/backends/systemd/index.js';
import { silentLogger } from '../../src/log.js';
import { startEmulator } from '../emulator/index.js';
import { startTestDaemon } from '../helpers/daemon.js';
import { requireSystemdHost } from '../helpers/systemd-host.js';
import { ARGOCD_OUT, HELM_OUT, YQ_OUT, serveTools, toolBin } from './tools-kit.js';

// Mounted into the container at the same path; traversable by the job user.
const SHARED = mkdtempSync(path.join('/tmp', 'rf-tools-sd-'));
chmodSync(SHARED, 0o755);
test.after.always(() => rmSync(SHARED, { recursive: true, force: true }));

const POOL = `  - name: cd
    scope: { org: acme }
    labels: [cd-pipeline]
    backend: systemd
    size: 1
    ephemeral: true
    env: { DEPLOY_ENV: staging }
    systemd: { user: runner }
`;

test('systemd pool: tools install, verify and are on the PATH of a job running as the runner user', async (t) => {
  t.timeout(4 * 60_000);
  const sd = await requireSystemdHost(t, { mounts: [SHARED] });
  if (!sd) return;
  await sd.sh('id runner >/dev/null 2>&1 || useradd --create-home --shell /bin/bash runner');
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const tools = await serveTools(emu);

  const host = 'tsd1';
  const dir = path.join(SHARED, host);
  mkdirSync(dir, { mode: 0o755 });
  const systemd = createSystemdBackend({ host, logger: silentLogger(), run: sd.run, files: sd.files, pollMs: 500, stopPollMs: 100 });
  const fx = await startTestDaemon(t, emu, POOL, { extra: tools.yaml, host, dir, daemon: { backends: { systemd } } });
  // Teardowns run last-registered first: the daemon drains its units before the container goes.
  t.teardown(() => fx.stop('drain'));
  await fx.daemon.ready;
  const dataDir = fx.config.host.dataDir;
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
  t.regex(job.output, /^user=runner$/m);
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
