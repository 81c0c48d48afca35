/**
 * A hostile job in a systemd runner (real systemd, PID 1 in a container; the data dir mounted
 * at the same path) tries to change the runner cache and the tools through its root and directly.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { createSystemdBackend } from '../../src/backends/systemd/index.js';
import { silentLogger } from '../../src/log.js';
import { checkCacheDir } from '../../src/runner/manifest.js';
import { startEmulator } from '../emulator/index.js';
import { startTestDaemon } from '../helpers/daemon.js';
import { requireSystemdHost } from '../helpers/systemd-host.js';
import { serveTools } from '../daemon/tools-kit.js';
import { ATTACK, snapshot } from './isolation-kit.js';

const SHARED = mkdtempSync(path.join('/tmp', 'rf-sec-sd-'));
chmodSync(SHARED, 0o755);
test.after.always(() => rmSync(SHARED, { recursive: true, force: true }));

const POOL = `  - name: cd
    scope: { org: acme }
    labels: [cd-pipeline]
    backend: systemd
    size: 1
    ephemeral: true
    systemd: { user: runner }
`;

test('a systemd runner job cannot change the runner cache or the tools; the next runner still works', async (t) => {
  t.timeout(4 * 60_000);
  const sd = await requireSystemdHost(t, { mounts: [SHARED] });
  if (!sd) return;
  await sd.sh('id runner >/dev/null 2>&1 || useradd --create-home --shell /bin/bash runner');
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const tools = await serveTools(emu);
  const host = 'ssc1';
  const dir = path.join(SHARED, host);
  mkdirSync(dir, { mode: 0o755 });
  const systemd = createSystemdBackend({ host, logger: silentLogger(), run: sd.run, files: sd.files, pollMs: 500, stopPollMs: 100 });
  const fx = await startTestDaemon(t, emu, POOL, { extra: tools.yaml, host, dir, daemon: { backends: { systemd } } });
  t.teardown(() => fx.stop('drain'));
  await fx.daemon.ready;
  const dataDir = fx.config.host.dataDir;
  const online = (rs: ReturnType<typeof emu.runners>) => rs.filter((r) => r.name.startsWith(`${host}-cd-`) && r.status === 'online');
  await emu.waitForRunners((rs) => online(rs).length === 1, 60_000);
  const before = { cache: snapshot(path.join(dataDir, 'cache', 'runner')), tools: snapshot(path.join(dataDir, 'tools')) };

  const script = `R="\${RUNNER_WORKSPACE%/_work}"; D="${dataDir}"; echo "user=$(id -un)"; ${ATTACK}`;
  const job = await emu.waitForJob(emu.queueJob({ labels: ['self-hosted', 'cd-pipeline'], script }), 60_000);
  t.regex(job.output, /^user=rf-[0-9a-f]+$/m, 'the job ran as its runner\'s own user (isolation: per-runner)');
  t.regex(job.output, /attacks-done/);
  t.regex(job.output, /refused/);
  t.false(job.output.includes('ATTACK-OK'), job.output);
  t.deepEqual(snapshot(path.join(dataDir, 'cache', 'runner')), before.cache, 'runner cache unchanged');
  t.deepEqual(snapshot(path.join(dataDir, 'tools')), before.tools, 'tools unchanged');
  for (const v of Object.keys(before.cache).filter((k) => /^\d+\.\d+\.\d+$/.test(k))) {
    t.true((await checkCacheDir(path.join(dataDir, 'cache', 'runner', v))).ok, v);
  }

  await emu.waitForRunners((rs) => online(rs).length === 1 && !online(rs).some((r) => r.name === job.runnerName), 60_000);
  const next = await emu.waitForJob(emu.queueJob({ labels: ['self-hosted', 'cd-pipeline'], script: 'echo next-ok' }), 60_000);
  t.is(next.conclusion, 'success', next.output);
});
