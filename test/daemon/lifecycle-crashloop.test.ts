import test from 'ava';
import path from 'node:path';
import { createProcessBackend } from '../../src/backends/process/index.js';
import type { Backend } from '../../src/backends/types.js';
import { silentLogger } from '../../src/log.js';
import { startEmulator } from '../emulator/index.js';
import { poolYaml, startTestDaemon, until } from '../helpers/daemon.js';
import { attempts, httpStatus, liveRows, online, requestCount, stopAndKillRunners } from './lifecycle-kit.js';
import { tempDir } from '../helpers/temp.js';

const WINDOW_MS = 12_000;

test('crash-looping pools back off exponentially while a healthy pool comes online and stays at size', async (t) => {
  const emu = await startEmulator({ repos: [{ fullName: 'acme/app', visibility: 'private' }] });
  t.teardown(() => emu.close());
  // jit: GitHub answers 500 to every generate-jitconfig for acme/app (retried by the client, then failed).
  emu.faults.failNext(10_000, 500, '/repos/acme/app/actions/runners/generate-jitconfig');
  const pools = [
    poolYaml({ name: 'cd', size: 2 }),
    poolYaml({ name: 'jit', scope: '{ repo: acme/app }' }),
    // crash: running as root without RUNNER_ALLOW_RUNASROOT, config.sh exits 1 at once, every time.
    ...(process.getuid?.() === 0 ? [poolYaml({ name: 'crash', ephemeral: false, env: { RUNNER_ALLOW_RUNASROOT: '' } })] : []),
  ].join('');
  const crashes = process.getuid?.() === 0;
  const fx = await startTestDaemon(t, emu, pools);
  t.teardown(() => stopAndKillRunners(fx));
  const t0 = Date.now();

  await until(() => online(emu).length === 2, 30_000, 'healthy pool online');
  let minOnline = 2;
  while (Date.now() - t0 < WINDOW_MS) {
    await new Promise((r) => setTimeout(r, 250));
    minOnline = Math.min(minOnline, online(emu).length);
  }
  t.is(minOnline, 2, 'the healthy pool never dropped while the others failed');
  const cdRows = fx.daemon.store.runners.list({ pool: 'cd', includeGone: true });
  t.is(cdRows.length, 2, `no churn in the healthy pool: ${JSON.stringify(cdRows.map((r) => [r.state, r.lastExitCode, r.reason, r.lastError]))}`);

  // 500s are retried by the client (1 + 3 attempts over ~14 s) and then the pool backs off:
  // a hammering loop would have made hundreds of requests in this window.
  const jitRequests = requestCount(emu, '/repos/{owner}/{repo}/actions/runners/generate-jitconfig');
  t.true(jitRequests >= 1 && jitRequests <= 8, `jit requests in ${WINDOW_MS} ms: ${jitRequests}`);
  t.true(attempts(fx, 'jit') <= 2, `jit create attempts: ${attempts(fx, 'jit')}`);
  t.is(emu.runners().filter((r) => r.scopeKey === 'repo:acme/app').length, 0);

  if (crashes) {
    // Backoff 5 s, 10 s, 20 s: it is retried, and each start waits at least its backoff after
    // the one before (timestamps, so a slow machine cannot make this pass or fail by accident).
    await until(() => attempts(fx, 'crash') >= 2, 30_000, 'crash pool retried after its backoff');
    const starts = fx.daemon.store.runners.list({ pool: 'crash', includeGone: true }).map((r) => r.createdAt).sort((a, b) => a - b);
    for (let i = 1; i < starts.length; i++) {
      t.true(starts[i]! - starts[i - 1]! >= 5_000 * 2 ** (i - 1), `start ${i + 1} came ${starts[i]! - starts[i - 1]!} ms after start ${i}`);
    }
    t.is(online(emu, 'crash').length, 0);
  }

  const status = await httpStatus(fx);
  const byName = new Map(status.pools.map((p) => [p.name, p]));
  t.true(byName.get('cd')!.healthy);
  t.is(byName.get('cd')!.actual, 2);
  await until(async () => (await httpStatus(fx)).pools.find((p) => p.name === 'jit')?.error, 20_000, 'jit pool error in status');
  const jit = (await httpStatus(fx)).pools.find((p) => p.name === 'jit')!;
  t.false(jit.healthy);
  t.is(jit.actual, 0);
  if (crashes) {
    const crash = byName.get('crash')!;
    t.false(crash.healthy);
    t.truthy(crash.error);
  }
  // The gauge is set at the start of each pass, so it follows the status within one interval.
  await until(async () => /runner_fleet_pool_healthy\{pool="jit"\} 0/.test(await fx.daemon.metrics.render()), 5000, 'jit unhealthy in metrics');
  t.regex(await fx.daemon.metrics.render(), /runner_fleet_pool_healthy\{pool="cd"\} 1/);
});

test('a registration deleted on the server: the listener exits 0 and the daemon replaces the runner', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const fx = await startTestDaemon(t, emu, poolYaml({ name: 'cd', size: 2 }));
  t.teardown(() => stopAndKillRunners(fx));
  await until(() => online(emu).length === 2, 30_000, 'two online');
  const [victim, other] = online(emu);

  t.is(emu.deleteRunner(victim!.id), 'deleted');
  await until(
    () => online(emu).length === 2 && !online(emu).some((r) => r.name === victim!.name),
    30_000,
    'replacement online',
  );
  t.true(online(emu).some((r) => r.name === other!.name), `the other runner was left alone: ${eventTrail(fx)}`);
  const exited = fx.daemon.store.events.recent(50, { runner: victim!.name }).find((e) => e.kind === 'runner.exited');
  t.like((exited?.data as { exitCode?: number; meaning?: string }) ?? {}, { exitCode: 0, meaning: 'registration-gone', reason: 'exited', ranJob: false });
  // A clean exit is not a crash: no backoff, the pool stays healthy.
  t.is(fx.daemon.reconciler.pools.get('cd')!.failures, 0);
  t.is(liveRows(fx, 'cd').length, 2);
  t.true((await httpStatus(fx)).pools[0]!.healthy);
});

test('while an exited runner is still being cleaned up, passes neither count it nor retire the healthy runner', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const dir = await tempDir(t, 'rf-daemon-');
  // The real process backend, with the victim's destroy held open: the reap stays in flight.
  const real = createProcessBackend({ host: 'h1', dataDir: path.join(dir, 'data'), logger: silentLogger() });
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let victimName: string | null = null;
  const backend: Backend = Object.assign(Object.create(real) as Backend, {
    destroy: async (name: string, o: { graceMs: number }, signal?: AbortSignal) => {
      if (name === victimName) await held;
      return real.destroy(name, o, signal);
    },
  });
  const fx = await startTestDaemon(t, emu, poolYaml({ name: 'cd', size: 2 }), { dir, daemon: { backends: { process: backend } } });
  t.teardown(() => stopAndKillRunners(fx));
  t.teardown(() => release());
  await until(() => online(emu).length === 2, 30_000, 'two online');
  const [victim, other] = online(emu);
  victimName = victim!.name;

  t.is(emu.deleteRunner(victim!.id), 'deleted');
  await until(() => online(emu).length === 2 && !online(emu).some((r) => r.name === victimName), 30_000, 'replacement online');
  for (let i = 0; i < 3; i++) await fx.daemon.reconciler.trigger();
  // A retire writes its intent (pending_delete) as it starts, so the row shows it at once.
  t.is(fx.daemon.store.runners.get(other!.name)!.state, 'idle', `the healthy runner is not being retired: ${eventTrail(fx)}`);
  t.true(online(emu).some((r) => r.name === other!.name), `the healthy runner was kept: ${eventTrail(fx)}`);
  t.false(fx.daemon.store.events.recent(50).some((e) => e.kind === 'runner.retired'), eventTrail(fx));
  t.is(fx.daemon.store.runners.get(victimName)!.state, 'deleting', 'the reap wrote its intent before cleaning up');
  t.is(liveRows(fx, 'cd').length, 2);

  release();
  await until(() => fx.daemon.store.runners.get(victimName!)?.state === 'gone', 10_000, 'victim reaped');
  t.is(fx.daemon.store.runners.list({ pool: 'cd', includeGone: true }).length, 3, 'one replacement, no churn');
});

function eventTrail(fx: Awaited<ReturnType<typeof startTestDaemon>>): string {
  return JSON.stringify(fx.daemon.store.events.recent(40).map((e) => [e.kind, e.runner, e.data]));
}
