import test from 'ava';
import type { StatusReport } from '../../src/api/types.js';
import { runLogs } from '../../src/cli/commands/logs.js';
import { startEmulator } from '../emulator/index.js';
import { poolYaml, startTestDaemon, until } from '../helpers/daemon.js';
import { JOB_LABELS, httpStatus, online, pidRecords, stopAndKillRunners } from './lifecycle-kit.js';

function sink(): { write(s: string): boolean; text: () => string } {
  let buf = '';
  return { write: (s: string) => ((buf += s), true), text: () => buf };
}

test('every runner exit is classified, kept per pool, counted by cause, and a gone runner still has logs', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const fx = await startTestDaemon(t, emu, poolYaml({ name: 'cd', size: 1 }));
  t.teardown(() => stopAndKillRunners(fx));
  const base = `http://127.0.0.1:${fx.daemon.apiPort}`;
  const exits = async () => (await httpStatus(fx)).pools.find((p) => p.name === 'cd')?.lastExits ?? [];
  await until(() => online(emu).length === 1, 30_000, 'a runner online');
  const first = online(emu)[0]!.name;

  // 1. The ephemeral runner runs its job and exits 0: job finished.
  const job = await emu.waitForJob(emu.queueJob({ labels: JOB_LABELS, script: 'echo marker-from-the-job' }), 30_000);
  t.is(job.conclusion, 'success');
  const done = await until(async () => (await exits()).find((e) => e.runner === first), 30_000, 'the first exit in status');
  t.like(done, { cause: 'job_done', exitCode: 0, meaning: 'job-done' });

  // 2. The replacement is killed by SIGKILL (what an OOM killer outside a cgroup looks like): killed by signal.
  await until(() => online(emu).some((r) => r.name !== first), 30_000, 'a replacement online');
  const second = online(emu).find((r) => r.name !== first)!.name;
  const rec = (await pidRecords(fx.config.host.dataDir)).find((r) => r.name === second)!;
  process.kill(-rec.pid, 'SIGKILL');
  const killed = await until(async () => (await exits()).find((e) => e.runner === second), 30_000, 'the killed exit in status');
  t.like(killed, { cause: 'signal', exitCode: null, signal: 'SIGKILL' });
  await until(() => online(emu).some((r) => r.name !== first && r.name !== second), 30_000, 'the killed runner replaced');

  // Newest first, both kept with the runner's history in the store.
  const all = await exits();
  t.deepEqual(all.slice(0, 2).map((e) => e.runner), [second, first]);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  t.regex(metrics, /^runner_fleet_runner_exits_total\{pool="cd",cause="job_done"\} 1$/m);
  t.regex(metrics, /^runner_fleet_runner_exits_total\{pool="cd",cause="signal"\} 1$/m);

  // 3. `runner-fleet logs` for runners that are gone: their last output was kept, 0600, in {dataDir}/logs.
  t.is(fx.daemon.store.runners.get(first)?.state ?? 'gone', 'gone');
  const out = sink();
  await runLogs({ cfg: fx.config, runner: first, tail: 500, out });
  t.regex(out.text(), /Running job: job-\d+\n(.*\n)*marker-from-the-job\n/);
  const { statSync } = await import('node:fs');
  t.is(statSync(`${fx.config.host.dataDir}/logs/${first}.log`).mode & 0o777, 0o600);

  // The stored view (daemon down) says the same.
  const { statusFromStore } = await import('../../src/api/status.js');
  const stored: StatusReport = statusFromStore(fx.config, fx.daemon.store, 'test');
  t.is(stored.pools[0]!.lastExits![0]!.runner, second);
});
