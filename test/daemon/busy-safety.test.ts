import test from 'ava';
import { startEmulator } from '../emulator/index.js';
import { poolYaml, startTestDaemon, until } from '../helpers/daemon.js';

const LIVE = new Set(['pending_create', 'creating', 'idle', 'busy']);
const LABELS = ['self-hosted', 'linux', 'cd-pipeline'];

const pool = (size: number, ephemeral: boolean): string => poolYaml({ name: 'cd', size, ephemeral });

test('a job that lands between the stop decision and the deregistration is never cancelled', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  // GitHub's list is read once at start only, so the DELETE is the one delayed call.
  const fx = await startTestDaemon(t, emu, pool(1, true), { daemon: { githubListIntervalMs: 3_600_000 } });
  t.teardown(() => fx.stop('keep'));
  await emu.waitForRunners((rs) => rs.some((r) => r.name.startsWith('h1-cd-') && r.status === 'online'), 30_000);
  const [runner] = fx.daemon.store.runners.list({ pool: 'cd' });

  // The daemon decides to stop the idle runner; its DELETE reaches GitHub only after the job landed.
  emu.faults.delay(1500);
  fx.daemon.reconciler.drain('cd');
  // The stop is decided (intent written, hook read as idle) and its DELETE is on its way: only now
  // does the job arrive, inside the DELETE's delay.
  await until(() => fx.daemon.store.runners.get(runner!.name)?.state === 'pending_delete', 10_000, 'stop decided');
  const jobId = emu.queueJob({ labels: LABELS, durationMs: 2500 });
  await until(() => emu.job(jobId)?.status === 'in_progress', 10_000, 'job start');
  emu.faults.clear();

  const job = await emu.waitForJob(jobId, 30_000);
  t.is(job.conclusion, 'success');
  t.is(job.runnerName, runner!.name);
  const events = fx.daemon.store.events.recent(50, { runner: runner!.name });
  t.false(events.some((e) => e.kind === 'runner.retired'), 'the busy runner was not retired');
  // The 422 was GitHub's answer; afterwards the ephemeral runner left on its own and the drain completed.
  t.true(emu.requests().some((r) => r.method === 'DELETE' && r.status === 422));
  await until(() => fx.daemon.reconciler.liveCount('cd') === 0, 20_000, 'drain');
});

test('version roll with one busy runner: it finishes on the old version, the rest move, the pool never drops below size-1', async (t) => {
  const emu = await startEmulator({ runnerVersions: ['2.330.0'] });
  t.teardown(() => emu.close());
  const fx = await startTestDaemon(t, emu, pool(3, false));
  t.teardown(() => fx.stop('keep'));
  const online = (v: string) => emu.runners().filter((r) => r.name.startsWith('h1-cd-') && r.status === 'online' && r.version === v);
  await until(() => online('2.330.0').length === 3, 30_000, 'three runners on 2.330.0');

  const jobId = emu.queueJob({ labels: LABELS, durationMs: 4000 });
  await until(() => emu.job(jobId)?.status === 'in_progress', 10_000, 'job start');
  const busyName = emu.job(jobId)!.runnerName!;

  let minLive = Infinity;
  const sampler = setInterval(() => {
    minLive = Math.min(minLive, fx.daemon.store.runners.list({ pool: 'cd' }).filter((r) => LIVE.has(r.state)).length);
  }, 20);
  t.teardown(() => clearInterval(sampler));

  await emu.publishRunnerVersion('2.331.0');
  t.is(await fx.daemon.checkRunnerVersion(), '2.331.0');
  const job = await emu.waitForJob(jobId, 30_000);
  t.is(job.conclusion, 'success');
  t.is(job.runnerName, busyName);
  await until(() => online('2.331.0').length === 3, 60_000, 'all three on 2.331.0');
  clearInterval(sampler);
  t.true(minLive >= 2, `pool dropped to ${minLive}`);
  t.false(emu.runners().some((r) => r.name.startsWith('h1-cd-') && r.version === '2.330.0'));
});
