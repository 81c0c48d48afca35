import test from 'ava';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { startEmulator } from '../emulator/index.js';
import { emulatorConfigYaml, startTestDaemon, until } from '../helpers/daemon.js';
import { stopAndKillRunners } from './lifecycle-kit.js';
import { assertQueueClean, deregisterAll, HOLD_MS, LISTENER, scaleSetPoolYaml, SS_LABELS } from './scaleset-kit.js';

const runnersOf = (names: string[]) => names.filter((n) => /^h1-burst-[a-z0-9]{6,}$/.test(n));

test('process: a burst of jobs through a scale set → one runner each, all succeed, nothing left; every message acked, capacity never 0, no webhook', async (t) => {
  const emu = await startEmulator({ scaleSets: { holdMs: HOLD_MS } });
  t.teardown(() => emu.close());
  const fx = await startTestDaemon(t, emu, scaleSetPoolYaml(), { daemon: { scaleSetListener: LISTENER } });
  t.teardown(() => stopAndKillRunners(fx));
  await until(() => emu.scaleSets.get('h1-burst')?.sessionOwner === 'h1', 20_000, 'session');
  t.deepEqual(emu.scaleSets.get('h1-burst')!.labels, SS_LABELS);

  const ids = [1, 2, 3, 4].map((i) => emu.queueJob({ labels: SS_LABELS, script: `echo job-${i} on $RUNNER_NAME` }));
  const jobs = await Promise.all(ids.map((id) => emu.waitForJob(id, 60_000)));
  t.true(jobs.every((j) => j.conclusion === 'success'));
  t.is(new Set(jobs.map((j) => j.runnerName)).size, 4);
  t.is(runnersOf(jobs.map((j) => j.runnerName!)).length, 4);
  await until(() => fx.daemon.reconciler.liveCount('burst') === 0, 30_000, 'pool back to zero');
  // One runner per job: nothing started twice.
  t.is(fx.daemon.store.runners.list({ pool: 'burst', includeGone: true }).length, 4);
  t.deepEqual(emu.deliveries(), []);
  await until(() => emu.scaleSets.get('h1-burst')!.messages.every((m) => m.acked), 10_000, 'acks');
  assertQueueClean(t, emu);
  t.is(emu.scaleSets.get('h1-burst')!.statistics.totalAssignedJobs, 0);
});

test('process: queue-token expiry and an empty 200 mid-run; GHES mode acquires JobAvailable; status shows the listener', async (t) => {
  const emu = await startEmulator({ scaleSets: { holdMs: HOLD_MS, ghes: true } });
  t.teardown(() => emu.close());
  const fx = await startTestDaemon(t, emu, scaleSetPoolYaml(), { daemon: { scaleSetListener: LISTENER } });
  t.teardown(() => stopAndKillRunners(fx));
  await until(() => emu.scaleSets.get('h1-burst')?.sessionOwner === 'h1', 20_000, 'session');
  const first = emu.queueJob({ labels: SS_LABELS, script: 'echo one' });
  t.is((await emu.waitForJob(first, 60_000)).conclusion, 'success');
  emu.scaleSets.faults.expireQueueTokens();
  emu.scaleSets.faults.emptyNext(1);
  const second = emu.queueJob({ labels: SS_LABELS, script: 'echo two' });
  t.is((await emu.waitForJob(second, 60_000)).conclusion, 'success');
  await until(() => fx.daemon.reconciler.liveCount('burst') === 0, 30_000, 'pool back to zero');
  t.is(fx.daemon.store.runners.list({ pool: 'burst', includeGone: true }).length, 2);
  await until(() => emu.scaleSets.get('h1-burst')!.messages.every((m) => m.acked), 10_000, 'acks');
  assertQueueClean(t, emu);

  const res = await fetch(`http://127.0.0.1:${fx.daemon.apiPort}/api/v1/status`);
  const status = (await res.json()) as { pools: { name: string; scaleSet?: { listener: string; lastPollAt: number | null; statistics: Record<string, number> } }[]; github: { actionsService: number } };
  const ss = status.pools.find((p) => p.name === 'burst')!.scaleSet!;
  t.is(ss.listener, 'connected');
  t.truthy(ss.lastPollAt);
  t.is(ss.statistics.totalAssignedJobs, 0);
  t.true(status.github.actionsService > 0);
  const metrics = await fx.daemon.metrics.render();
  t.regex(metrics, /runner_fleet_scaleset_listener_up\{pool="burst"\} 1/);
  t.regex(metrics, /runner_fleet_scaleset_last_poll_timestamp_seconds\{pool="burst"\} \d+/);
  t.regex(metrics, /runner_fleet_scaleset_assigned_jobs\{pool="burst"\} 0/);
});

test('process: drain keeps the session and advertises max; a restart keeps the scale set; deregister --all deletes it after its runners are gone', async (t) => {
  const emu = await startEmulator({ scaleSets: { holdMs: HOLD_MS } });
  t.teardown(() => emu.close());
  const pools = scaleSetPoolYaml({ minIdle: 1 });
  const fx = await startTestDaemon(t, emu, pools, { daemon: { scaleSetListener: LISTENER } });
  t.teardown(() => stopAndKillRunners(fx));
  await until(() => fx.daemon.reconciler.liveCount('burst') === 1 && emu.scaleSets.get('h1-burst')?.sessionOwner === 'h1', 30_000, 'min idle runner');
  const id = emu.scaleSets.get('h1-burst')!.id;
  const job = emu.queueJob({ labels: SS_LABELS, durationMs: 3000 });
  await until(() => emu.job(job)?.status === 'in_progress', 30_000, 'job running');
  fx.daemon.reconciler.drain();
  const polls = emu.scaleSets.get('h1-burst')!.polls;
  await until(() => emu.scaleSets.get('h1-burst')!.polls > polls + 1, 10_000, 'polls go on while draining');
  t.is(emu.scaleSets.get('h1-burst')!.sessionOwner, 'h1');
  t.is((await emu.waitForJob(job, 30_000)).conclusion, 'success');
  await until(() => fx.daemon.reconciler.liveCount('burst') === 0, 30_000, 'drained');
  assertQueueClean(t, emu);

  // Restart: same scale set, a fresh session at once (the old one was deleted on stop).
  await fx.stop('keep');
  const fx2 = await startTestDaemon(t, emu, pools, { daemon: { scaleSetListener: LISTENER }, dir: fx.dir });
  t.teardown(() => stopAndKillRunners(fx2));
  await until(() => emu.scaleSets.get('h1-burst')?.sessionOwner === 'h1' && fx2.daemon.reconciler.liveCount('burst') === 1, 30_000, 'back');
  t.is(emu.scaleSets.list().length, 1);
  t.is(emu.scaleSets.get('h1-burst')!.id, id);
  t.is(emu.scaleSets.get('h1-burst')!.conflicts, 0);

  t.like(await deregisterAll(fx2), { ok: true });
  await until(() => emu.scaleSets.list().length === 0, 30_000, 'scale set deleted');
  t.is(fx2.daemon.reconciler.liveCount('burst'), 0);
  t.deepEqual(fx2.daemon.store.scaleSets.list(), []);
  t.false(emu.runners().some((r) => r.name.startsWith('h1-burst-')));
});

test('process: a reload that changes the CA (a new HTTP stack, the old one closed) leaves the scale-set listener working', async (t) => {
  const emu = await startEmulator({ scaleSets: { holdMs: HOLD_MS } });
  t.teardown(() => emu.close());
  const fx = await startTestDaemon(t, emu, scaleSetPoolYaml(), { daemon: { scaleSetListener: LISTENER } });
  t.teardown(() => stopAndKillRunners(fx));
  await until(() => emu.scaleSets.get('h1-burst')?.sessionOwner === 'h1', 20_000, 'session');
  const ca = path.join(fx.dir, 'internal-ca.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', path.join(fx.dir, 'ca.key'), '-out', ca, '-days', '2', '-subj', '/CN=rf-ca'], { stdio: 'ignore' });
  await fs.writeFile(fx.configPath, emulatorConfigYaml(emu, fx.config.host.dataDir, scaleSetPoolYaml(), `network: { caFile: ${ca} }`));
  const r = await fx.daemon.reload(await loadConfig(fx.configPath, {}));
  t.is(r.result, 'applied');
  t.true(r.changed.includes('network.caFile'));
  const job = emu.queueJob({ labels: SS_LABELS, script: 'echo after-reload' });
  t.is((await emu.waitForJob(job, 60_000)).conclusion, 'success');
});
