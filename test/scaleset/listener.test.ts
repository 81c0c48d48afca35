import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { systemClock } from '../../src/clock.js';
import { createLogger } from '../../src/log.js';
import { ScaleSetListener } from '../../src/scaleset/listener.js';
import type { ListenerPool } from '../../src/scaleset/types.js';
import { openStore, type Store } from '../../src/store/index.js';
import type { EmulatorOptions } from '../emulator/index.js';
import { until } from '../github/helpers.js';
import { ORG, ssSetup, type SsSetup } from './kit.js';

const POOL: ListenerPool = { name: 'burst', scope: ORG, runnerGroup: 'Default', labels: ['burst'], max: 4 };

async function listenerSetup(t: ExecutionContext, emuOpts: EmulatorOptions = {}) {
  const s = await ssSetup(t, emuOpts);
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'rf-ssl-'));
  const store = openStore(dir);
  const jobs: string[] = [];
  let changes = 0;
  const make = (pool: ListenerPool = POOL, st: Store = store, setup: SsSetup = s) => {
    const l = new ScaleSetListener(pool, {
      client: setup.client, store: st, clock: systemClock, logger: createLogger({ level: 'silent' }), host: 'h1',
      events: { changed: () => void changes++, job: (_p, j) => void jobs.push(`${j.messageType}:${j.jobId}`) },
      holdMs: 300, watchdogMs: 1500, backoffBaseMs: 20, backoffMaxMs: 200, conflictRetryMs: 50,
    });
    l.start();
    t.teardown(() => l.stop());
    return l;
  };
  t.teardown(() => {
    store.close();
    return fs.promises.rm(dir, { recursive: true, force: true });
  });
  return { ...s, store, make, jobs, changes: () => changes };
}

test('creates {host}-{pool} with the pool labels, records statistics before acking every message, advertises max (never 0)', async (t) => {
  const { emu, make, store } = await listenerSetup(t);
  const l = make();
  await until(() => l.status().state === 'connected');
  const set = emu.scaleSets.get('h1-burst')!;
  t.deepEqual(set.labels, ['burst']);
  t.is(set.sessionOwner, 'h1');
  emu.queueJob({ labels: ['burst'] });
  emu.queueJob({ labels: ['burst'] });
  await until(() => store.scaleSets.get('burst')?.statistics.totalAssignedJobs === 2);
  await until(() => emu.scaleSets.get('h1-burst')!.messages.every((m) => m.acked));
  const info = emu.scaleSets.get('h1-burst')!;
  t.true(info.advertised.length > 0);
  t.true(info.advertised.every((c) => c === 4));
  await until(() => store.scaleSets.get('burst')!.lastMessageId === info.messages.at(-1)!.messageId);
  t.is(l.status().statistics?.totalAssignedJobs, 2);
});

test('a restart reuses the scale set and resumes after the stored lastMessageId; a label change updates it', async (t) => {
  const { emu, make } = await listenerSetup(t);
  const a = make();
  await until(() => a.status().state === 'connected');
  const id = emu.scaleSets.get('h1-burst')!.id;
  emu.queueJob({ labels: ['burst'] });
  await until(() => emu.scaleSets.get('h1-burst')!.messages.every((m) => m.acked) && a.status().messages === 1);
  await a.stop();
  t.is(emu.scaleSets.get('h1-burst')!.sessionOwner, null);
  const b = make({ ...POOL, labels: ['burst', 'big'] });
  await until(() => b.status().state === 'connected');
  t.is(emu.scaleSets.list().length, 1);
  t.is(emu.scaleSets.get('h1-burst')!.id, id);
  t.deepEqual(emu.scaleSets.get('h1-burst')!.labels, ['burst', 'big']);
  t.is(b.status().lastMessageId, a.status().lastMessageId);
});

test('409 while a crashed session is alive: state conflict, retried until it expires, then connected', async (t) => {
  // The crashed session lives until the test moves the emulator's clock past its expiry.
  let offsetMs = 0;
  const { emu, client, make } = await listenerSetup(t, { clock: { now: () => Date.now() + offsetMs }, scaleSets: { sessionExpiryMs: 60_000 } });
  const gid = await client.runnerGroupId('Default');
  const set = await client.createScaleSet({ name: 'h1-burst', runnerGroupId: gid, labels: ['burst'] });
  await client.createSession(set.id, 'h1'); // the session of a process that was SIGKILLed
  const l = make();
  await until(() => l.status().state === 'conflict', 8000);
  offsetMs += 60_000;
  await until(() => l.status().state === 'connected', 8000);
  t.true(emu.scaleSets.get('h1-burst')!.conflicts >= 1);
  emu.queueJob({ labels: ['burst'] });
  await until(() => l.status().statistics?.totalAssignedJobs === 1);
  t.pass();
});

test('queue-token expiry and an empty or malformed 200 mid-run: the job still arrives, every message acked', async (t) => {
  const { emu, make, store } = await listenerSetup(t);
  const l = make();
  await until(() => l.status().state === 'connected');
  emu.scaleSets.faults.expireQueueTokens();
  emu.scaleSets.faults.emptyNext(1);
  emu.scaleSets.faults.malformedNext(1);
  emu.queueJob({ labels: ['burst'] });
  await until(() => store.scaleSets.get('burst')?.statistics.totalAssignedJobs === 1, 8000);
  await until(() => emu.scaleSets.get('h1-burst')!.messages.every((m) => m.acked));
  t.is(l.status().state, 'connected');
});

test('a poll that never returns: the watchdog recreates the session and polling resumes', async (t) => {
  const { emu, make } = await listenerSetup(t);
  const l = make();
  await until(() => l.status().state === 'connected');
  const before = emu.scaleSets.get('h1-burst')!.sessionsCreated;
  emu.scaleSets.faults.hangPolls(true);
  await until(() => emu.scaleSets.get('h1-burst')!.sessionsCreated > before, 8000);
  emu.scaleSets.faults.hangPolls(false);
  emu.queueJob({ labels: ['burst'] });
  await until(() => l.status().statistics?.totalAssignedJobs === 1, 8000);
  t.pass();
});

test('a scale set GitHub deleted is recreated', async (t) => {
  const { emu, make } = await listenerSetup(t);
  const l = make();
  await until(() => l.status().state === 'connected');
  const id = emu.scaleSets.get('h1-burst')!.id;
  emu.scaleSets.remove('h1-burst');
  await until(() => (emu.scaleSets.get('h1-burst')?.id ?? id) !== id && l.status().state === 'connected', 8000);
  t.is(l.status().scaleSetId, emu.scaleSets.get('h1-burst')!.id);
});

test('GHES: JobAvailable is acquired after it is recorded, then assigned', async (t) => {
  const { emu, make, store } = await listenerSetup(t, { scaleSets: { ghes: true } });
  const l = make();
  await until(() => l.status().state === 'connected');
  emu.queueJob({ labels: ['burst'] });
  await until(() => store.scaleSets.get('burst')?.statistics.totalAssignedJobs === 1, 8000);
  t.is(emu.scaleSets.get('h1-burst')!.statistics.totalAvailableJobs, 0);
});
