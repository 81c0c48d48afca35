/**
 * A hostile job in a systemd runner (real systemd, PID 1 in a container; the data dir mounted
 * at the same path) tries to change the runner cache and the tools through its root and directly.
 */
import path from 'node:path';
import test from 'ava';
import { checkCacheDir } from '../../src/runner/manifest.js';
import { sharedMountDir, systemdPoolYaml } from '../helpers/systemd-pool.js';
import { systemdToolsDaemon } from '../daemon/tools-kit.js';
import { ATTACK, snapshot } from './isolation-kit.js';

const SHARED = sharedMountDir('rf-sec-sd-');

const POOL = systemdPoolYaml({ size: 1, ephemeral: true });

test('a systemd runner job cannot change the runner cache or the tools; the next runner still works', async (t) => {
  t.timeout(4 * 60_000);
  const host = 'ssc1';
  const started = await systemdToolsDaemon(t, SHARED, host, POOL);
  if (!started) return;
  const { emu, dataDir } = started;
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
