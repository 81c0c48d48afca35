import test from 'ava';
import { isFleetError } from '../../src/errors.js';
import { createHttp } from '../../src/net/http.js';
import { jwtExpiry } from '../../src/github/scaleset/index.js';
import { startProxy } from '../helpers/proxy.js';
import { makeSet, ssSetup } from './kit.js';

test('scale sets: created, found by group and name, updated, deleted; calls are actions-service, not REST rate limit', async (t) => {
  const { client, gh } = await ssSetup(t);
  const gid = await client.runnerGroupId('default');
  t.is(gid, 1);
  const made = await client.createScaleSet({ name: 'h1-burst', runnerGroupId: gid, labels: ['burst'] });
  t.deepEqual(made.labels.map((l) => l.name), ['burst']);
  t.true(made.ephemeral);
  const found = await client.getScaleSet(gid, 'h1-burst');
  t.is(found?.id, made.id);
  t.is(await client.getScaleSet(gid, 'other'), null);
  const upd = await client.updateScaleSet(made.id, { name: 'h1-burst', runnerGroupId: gid, labels: ['burst', 'big'] });
  t.deepEqual(upd.labels.map((l) => l.name), ['burst', 'big']);
  t.is(await client.deleteScaleSet(made.id), 'deleted');
  t.is(await client.deleteScaleSet(made.id), 'gone');
  t.is(await client.getScaleSetById(made.id), null);
  // Only the registration token went through the REST rate limit.
  t.is(gh.stats.rateLimited(), 1);
  t.true(gh.stats.actionsService() >= 8);
  t.is(client.admin.connects, 1);
});

test('admin connection: one exchange reused; an admin token refused (401) reconnects once and the call succeeds', async (t) => {
  const { client, emu } = await ssSetup(t);
  const id = await makeSet(client);
  const first = await client.admin.get();
  t.truthy(jwtExpiry(first.token));
  emu.scaleSets.faults.expireAdminTokens();
  t.is((await client.getScaleSetById(id))?.id, id);
  t.is(client.admin.connects, 2);
});

test('sessions: a second session while one is alive is GITHUB_CONFLICT; after delete a new one opens', async (t) => {
  const { client } = await ssSetup(t);
  const id = await makeSet(client);
  const s = await client.createSession(id, 'h1');
  const err = await t.throwsAsync(client.createSession(id, 'h1'));
  t.true(isFleetError(err, 'GITHUB_CONFLICT'));
  await s.close();
  const s2 = await client.createSession(id, 'h1');
  t.not(s2.id, s.id);
});

test('long poll: answers at once when a job is queued, with statistics; acknowledged messages are not redelivered, others are', async (t) => {
  const { client, emu } = await ssSetup(t, { scaleSets: { holdMs: 20_000 } });
  const id = await makeSet(client);
  const s = await client.createSession(id, 'h1');
  const poll = s.getMessage(0, 5);
  setTimeout(() => emu.queueJob({ labels: ['burst'] }), 50);
  const m = await poll;
  t.truthy(m);
  t.is(m!.jobs[0]!.messageType, 'JobAssigned');
  t.is(m!.statistics?.totalAssignedJobs, 1);
  // Not acknowledged: it comes again.
  const again = await s.getMessage(0, 5);
  t.is(again?.messageId, m!.messageId);
  await s.deleteMessage(m!.messageId);
  emu.queueJob({ labels: ['burst'] });
  const next = await s.getMessage(m!.messageId, 5);
  t.true(next!.messageId > m!.messageId);
  t.deepEqual(emu.scaleSets.get('h1-burst')!.advertised, [5, 5, 5]);
});

test('long poll: 202 after the hold time is null', async (t) => {
  const { client } = await ssSetup(t, { scaleSets: { holdMs: 100 } });
  const s = await client.createSession(await makeSet(client), 'h1');
  t.is(await s.getMessage(0, 3), null);
});

test('queue-token expiry (401) refreshes the session once and the poll goes on', async (t) => {
  const { client, emu } = await ssSetup(t);
  const s = await client.createSession(await makeSet(client), 'h1');
  emu.scaleSets.faults.expireQueueTokens();
  emu.queueJob({ labels: ['burst'] });
  const m = await s.getMessage(0, 3);
  t.is(m?.jobs.length, 1);
  t.is(s.refreshes, 1);
});

test('an empty or malformed 200 is SCALESET_BAD_MESSAGE (retryable), and the next poll works', async (t) => {
  const { client, emu } = await ssSetup(t);
  const s = await client.createSession(await makeSet(client), 'h1');
  emu.scaleSets.faults.emptyNext(1);
  emu.scaleSets.faults.malformedNext(1);
  t.true(isFleetError(await t.throwsAsync(s.getMessage(0, 3)), 'SCALESET_BAD_MESSAGE'));
  t.true(isFleetError(await t.throwsAsync(s.getMessage(0, 3)), 'SCALESET_BAD_MESSAGE'));
  emu.queueJob({ labels: ['burst'] });
  t.is((await s.getMessage(0, 3))?.jobs.length, 1);
});

test('GHES mode: JobAvailable waits until acquired, then JobAssigned follows', async (t) => {
  const { client, emu } = await ssSetup(t, { scaleSets: { ghes: true } });
  const s = await client.createSession(await makeSet(client), 'h1');
  const job = emu.queueJob({ labels: ['burst'] });
  const m = await s.getMessage(0, 3);
  const avail = m!.jobs[0]!;
  t.is(avail.messageType, 'JobAvailable');
  t.truthy(avail.acquireJobUrl);
  t.is(m!.statistics?.totalAvailableJobs, 1);
  await s.deleteMessage(m!.messageId);
  t.deepEqual(await s.acquireJobs([avail.runnerRequestId]), [avail.runnerRequestId]);
  const next = await s.getMessage(m!.messageId, 3);
  t.is(next!.jobs[0]!.messageType, 'JobAssigned');
  t.is(next!.statistics?.totalAssignedJobs, 1);
  t.is(emu.job(job)!.status, 'queued');
});

test('the trapdoor: a job queued while the client advertised capacity 0 is never assigned', async (t) => {
  const { client, emu } = await ssSetup(t, { scaleSets: { holdMs: 50 } });
  const s = await client.createSession(await makeSet(client), 'h1');
  t.is(await s.getMessage(0, 0), null);
  const job = emu.queueJob({ labels: ['burst'] });
  t.deepEqual(emu.scaleSets.stranded(), [job]);
  t.is(await s.getMessage(0, 5), null);
  t.is(emu.scaleSets.get('h1-burst')!.statistics.totalAssignedJobs, 0);
});

test('JIT config through a scale set; agents read by id and name and removed', async (t) => {
  const { client, emu } = await ssSetup(t);
  const id = await makeSet(client);
  const jit = await client.generateJitConfig(id, 'h1-burst-abc123');
  t.is(jit.scaleSetId, id);
  t.true(jit.encoded.length > 0);
  t.deepEqual(emu.runners().find((r) => r.id === jit.runnerId)?.labels, ['burst']);
  t.is((await client.getAgent(jit.runnerId))?.name, 'h1-burst-abc123');
  t.is((await client.getAgentByName('h1-burst-abc123'))?.id, jit.runnerId);
  const dup = await t.throwsAsync(client.generateJitConfig(id, 'h1-burst-abc123'));
  t.true(isFleetError(dup, 'GITHUB_CONFLICT'));
  t.is(await client.deleteAgent(jit.runnerId), 'deleted');
  t.is(await client.deleteAgent(jit.runnerId), 'gone');
  t.is(await client.getAgent(jit.runnerId), null);
});

test('5xx on a service call is retried; faults count as actions-service attempts', async (t) => {
  const { client, emu, gh } = await ssSetup(t);
  const id = await makeSet(client);
  emu.faults.failNext(2, 502, 'runnerscalesets/{id}');
  t.is((await client.getScaleSetById(id))?.id, id);
  t.is(gh.stats.count('GET /_apis/runtime/runnerscalesets/{id}', 502), 2);
});

test('scale-set calls and the long poll go through the configured proxy', async (t) => {
  const proxy = await startProxy(t);
  const http = createHttp({ network: { proxy: { http: proxy.url } } });
  t.teardown(() => http.close());
  const { client, emu } = await ssSetup(t, {}, http.fetch);
  const s = await client.createSession(await makeSet(client), 'h1');
  emu.queueJob({ labels: ['burst'] });
  await s.getMessage(0, 2);
  t.true(proxy.seen.some((r) => r.url.includes('/actions/runner-registration')));
  t.true(proxy.seen.some((r) => r.url.includes('/_queue/')));
});
