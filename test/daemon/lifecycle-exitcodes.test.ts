import test from 'ava';
import { startEmulator } from '../emulator/index.js';
import { poolYaml, startTestDaemon, until } from '../helpers/daemon.js';
import { JOB_LABELS, attempts, online, stopAndKillRunners } from './lifecycle-kit.js';

const DEPRECATED_ENV = { ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE: '1' };

function exitCodes(fx: Awaited<ReturnType<typeof startTestDaemon>>): (number | null)[] {
  return fx.daemon.store.events
    .recent(200, { kind: 'runner.exited' })
    .map((e) => (e.data as { exitCode: number | null }).exitCode);
}

test('exit 7 (version deprecated): the daemon finds the newer runner and new runners come up on it', async (t) => {
  const emu = await startEmulator({ runnerVersions: ['2.330.0'] });
  t.teardown(() => emu.close());
  const fx = await startTestDaemon(t, emu, poolYaml({ name: 'cd', size: 2, env: DEPRECATED_ENV }));
  t.teardown(() => stopAndKillRunners(fx));
  await until(() => online(emu).filter((r) => r.version === '2.330.0').length === 2, 30_000, 'two runners on 2.330.0');

  // A new release appears and the old one is deprecated; the daemon's daily check has not run yet.
  await emu.publishRunnerVersion('2.331.0');
  emu.deprecateRunnerVersion('2.330.0');
  // The running listeners keep their sessions; the next one to start on 2.330.0 is refused and exits 7.
  const [first] = online(emu);
  t.is(emu.deleteRunner(first!.id), 'deleted');

  await until(() => exitCodes(fx).includes(7), 30_000, 'a runner exited 7');
  await until(() => online(emu).filter((r) => r.version === '2.331.0').length === 2, 60_000, 'both runners on 2.331.0');
  t.false(online(emu).some((r) => r.version === '2.330.0'), 'the idle runner on the deprecated version was rolled');
  t.true(fx.daemon.store.runners.list({ pool: 'cd' }).every((r) => r.version === '2.331.0'));
  t.true(fx.daemon.store.events.recent(50, { kind: 'runner.version' }).some((e) => (e.data as { version: string }).version === '2.331.0'));
  // The pool is not in backoff for a deprecated version: that is not the runner's fault.
  t.is(fx.daemon.reconciler.pools.get('cd')!.failures, 0);

  const job = await emu.waitForJob(emu.queueJob({ labels: JOB_LABELS, durationMs: 100 }), 30_000);
  t.is(job.conclusion, 'success');
});

test('exit 7 with no newer runner published: restarts are bounded (backoff), never a tight loop', async (t) => {
  const emu = await startEmulator({ runnerVersions: ['2.330.0'] });
  t.teardown(() => emu.close());
  emu.deprecateRunnerVersion('2.330.0');
  const fx = await startTestDaemon(t, emu, poolYaml({ name: 'cd', size: 1, env: DEPRECATED_ENV }));
  t.teardown(() => stopAndKillRunners(fx));
  const t0 = Date.now();
  await until(() => exitCodes(fx).includes(7), 30_000, 'first exit 7');
  while (Date.now() - t0 < 8000) await new Promise((r) => setTimeout(r, 250));
  const n = attempts(fx, 'cd');
  t.true(n >= 1 && n <= 3, `runner starts in 8 s: ${n}`);
  t.is(online(emu).length, 0);

  // Once a release exists, the next deprecated exit (or the schedule) moves the pool onto it.
  await emu.publishRunnerVersion('2.331.0');
  t.is(await fx.daemon.checkRunnerVersion(), '2.331.0');
  await until(() => online(emu).filter((r) => r.version === '2.331.0').length === 1, 60_000, 'runner on 2.331.0');
});
