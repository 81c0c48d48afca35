import test from 'ava';
import { startEmulator } from '../emulator/index.js';
import { startTestDaemon, until } from '../helpers/daemon.js';
import { stopAndKillRunners } from './lifecycle-kit.js';
import { assertQueueClean, HOLD_MS, LISTENER, scaleSetPoolYaml, SS_LABELS } from './scaleset-kit.js';

const runnersOf = (names: string[]) => names.filter((n) => /^h1-burst-[a-z0-9]{6,}$/.test(n));

test('process: a burst of jobs through a scale set → one runner each, all succeed, nothing left; every message acked, capacity never 0, no webhook', async (t) => {
  const emu = await startEmulator({ scaleSets: { holdMs: HOLD_MS } });
  t.teardown(() => emu.close());
  const fx = await startTestDaemon(emu, scaleSetPoolYaml(), { daemon: { scaleSetListener: LISTENER } });
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
