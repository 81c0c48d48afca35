import test from 'ava';
import { startEmulator } from '../emulator/index.js';
import { startTestDaemon, until } from '../helpers/daemon.js';

const SCALE_POOL = `  - name: cd
    scope: { org: acme }
    labels: [cd-pipeline]
    backend: process
    scale: { minIdle: 0, max: 5, idleTimeout: 1m }
    ephemeral: true
    env: { RUNNER_ALLOW_RUNASROOT: "1" }
`;

const LABELS = ['self-hosted', 'linux', 'cd-pipeline'];
const ours = (names: string[]) => names.filter((n) => /^h1-cd-[a-z0-9]{8}$/.test(n));

test('three signed queued deliveries → three runners, each job served; nothing idles afterwards', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const fx = await startTestDaemon(t, emu, SCALE_POOL);
  t.teardown(() => fx.stop('keep'));
  emu.setWebhook(`http://127.0.0.1:${fx.daemon.apiPort}/webhook`, 'test-secret');

  const ids = [1, 2, 3].map(() => emu.queueJob({ labels: LABELS, script: 'echo served-by=$RUNNER_NAME' }));
  const jobs = await Promise.all(ids.map((id) => emu.waitForJob(id, 30_000)));
  t.true(jobs.every((j) => j.conclusion === 'success'));
  t.is(new Set(jobs.map((j) => j.runnerName)).size, 3);
  t.true(emu.deliveries().filter((d) => d.action === 'queued').every((d) => d.status === 202));
  // Scale-up latency was observed for each runner.
  const metrics = await fx.daemon.metrics.render();
  t.regex(metrics, /runner_fleet_scale_up_latency_seconds_count\{[^}]*pool="cd"[^}]*\} 3/);
  // Ephemeral runners left after their jobs; minIdle 0 means nothing new starts.
  await until(() => fx.daemon.reconciler.liveCount('cd') === 0, 20_000, 'pool back to zero');
});

test('a bad signature → 401 and nothing starts; a job its runner took before the in_progress delivery starts no second runner; a replay starts nothing', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const fx = await startTestDaemon(t, emu, SCALE_POOL);
  t.teardown(() => fx.stop('keep'));
  const hook = `http://127.0.0.1:${fx.daemon.apiPort}/webhook`;

  const job1 = emu.queueJob({ labels: LABELS, durationMs: 3000 });
  t.is(await emu.deliverWorkflowJob(hook, 'wrong-secret', 'queued', job1), 401);
  t.is(await emu.deliverWorkflowJob(hook, 'test-secret', 'queued', job1, { badSignature: true }), 401);
  await fx.daemon.reconciler.trigger();
  t.is(fx.daemon.store.runners.list({ includeGone: true }).length, 0);

  t.is(await emu.deliverWorkflowJob(hook, 'test-secret', 'queued', job1, { deliveryId: 'd-1' }), 202);
  await until(() => emu.job(job1)?.status !== 'queued', 30_000, 'job picked up');
  // The runner's job hook reports the job before GitHub's in_progress delivery does: passes in
  // that window must not take the job for still queued and start a second runner.
  await until(() => fx.daemon.store.runners.list()[0]?.state === 'busy', 10_000, 'hook says busy');
  for (let i = 0; i < 3; i++) await fx.daemon.reconciler.trigger();
  await fx.daemon.reconciler.settled();
  t.is(fx.daemon.store.runners.list({ includeGone: true }).length, 1, 'no second runner for a job already taken');
  t.is(await emu.deliverWorkflowJob(hook, 'test-secret', 'in_progress', job1), 202);
  await emu.waitForJob(job1, 30_000);
  t.is(await emu.deliverWorkflowJob(hook, 'test-secret', 'completed', job1), 202);
  await until(() => fx.daemon.reconciler.liveCount('cd') === 0, 20_000, 'the ephemeral runner left');
  const created = fx.daemon.store.runners.list({ includeGone: true }).length;
  t.is(created, 1);
  t.is(await emu.deliverWorkflowJob(hook, 'test-secret', 'queued', job1, { deliveryId: 'd-1' }), 202);
  await fx.daemon.reconciler.trigger();
  await fx.daemon.reconciler.settled();
  t.is(fx.daemon.store.runners.list({ includeGone: true }).length, created);
});

test('jobs whose labels no pool has start nothing', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const fx = await startTestDaemon(t, emu, SCALE_POOL);
  t.teardown(() => fx.stop('keep'));
  const hook = `http://127.0.0.1:${fx.daemon.apiPort}/webhook`;
  const job = emu.queueJob({ labels: ['self-hosted', 'gpu'], durationMs: 100 });
  t.is(await emu.deliverWorkflowJob(hook, 'test-secret', 'queued', job), 202);
  await fx.daemon.reconciler.trigger();
  await fx.daemon.reconciler.settled();
  t.is(ours(fx.daemon.store.runners.list({ includeGone: true }).map((r) => r.name)).length, 0);
});
