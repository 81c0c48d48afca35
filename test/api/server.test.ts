import test from 'ava';
import { sign } from '@octokit/webhooks-methods';
import { verifySignature } from '../../src/api/webhook.js';
import { deliver, postRaw, sampleStatus, SECRET, startApi, workflowJob } from './helpers.js';
import { until } from '../helpers/poll.js';

test('healthz: 200 while reconciles are recent, 503 when the last is older than 3 intervals', async (t) => {
  const s = await startApi();
  t.teardown(() => s.api.close());
  let res = await fetch(`${s.base}/healthz`);
  t.is(res.status, 200);
  t.deepEqual(await res.json(), { status: 'ok' });
  s.clock.advance(30_000);
  t.is((await fetch(`${s.base}/healthz`)).status, 200, 'exactly 3 intervals is still healthy');
  s.clock.advance(1);
  res = await fetch(`${s.base}/healthz`);
  t.is(res.status, 503);
  s.health.lastReconcileAt = s.clock.now();
  t.is((await fetch(`${s.base}/healthz`)).status, 200);
  s.health.ok = false;
  t.is((await fetch(`${s.base}/healthz`)).status, 503);
});

test('healthz: before any reconcile, healthy for a grace of 3 intervals after start', async (t) => {
  const s = await startApi();
  t.teardown(() => s.api.close());
  s.health.lastReconcileAt = null;
  t.is((await fetch(`${s.base}/healthz`)).status, 200);
  s.clock.advance(30_001);
  t.is((await fetch(`${s.base}/healthz`)).status, 503);
});

test('status is served as JSON; unknown routes 404; wrong methods 405', async (t) => {
  const s = await startApi();
  t.teardown(() => s.api.close());
  const res = await fetch(`${s.base}/api/v1/status`);
  t.is(res.status, 200);
  t.regex(res.headers.get('content-type') ?? '', /application\/json/);
  t.deepEqual(await res.json(), sampleStatus);
  t.is((await fetch(`${s.base}/nope`)).status, 404);
  t.is((await fetch(`${s.base}/api/v1/status`, { method: 'DELETE' })).status, 405);
});

test('bearer token guards /api/v1/* but not /healthz or /metrics', async (t) => {
  const s = await startApi({ token: 's3cret-token' });
  t.teardown(() => s.api.close());
  t.is((await fetch(`${s.base}/api/v1/status`)).status, 401);
  t.is((await fetch(`${s.base}/api/v1/status`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
  t.is((await fetch(`${s.base}/api/v1/status`, { headers: { authorization: 's3cret-token' } })).status, 401);
  t.is((await fetch(`${s.base}/api/v1/status`, { headers: { authorization: 'Bearer s3cret-token' } })).status, 200);
  // Control routes: 403 without the token (contract §7), whether or not api.token is set.
  t.is((await fetch(`${s.base}/api/v1/drain`, { method: 'POST' })).status, 403);
  t.is((await fetch(`${s.base}/healthz`)).status, 200);
  t.is((await fetch(`${s.base}/metrics`)).status, 200);
});

test('drain and deregister-all call their dependencies (TCP with the bearer token)', async (t) => {
  const calls: unknown[] = [];
  const s = await startApi({
    token: 'tok',
    drain: (r) => void calls.push(['drain', r]),
    deregisterAll: () => {
      calls.push(['deregister']);
      return { removed: 2 };
    },
  });
  t.teardown(() => s.api.close());
  const auth = { authorization: 'Bearer tok' };
  let res = await fetch(`${s.base}/api/v1/drain`, { method: 'POST', headers: auth, body: JSON.stringify({ pool: 'cd', timeoutSeconds: 5 }) });
  t.is(res.status, 202);
  res = await fetch(`${s.base}/api/v1/drain`, { method: 'POST', headers: auth });
  t.is(res.status, 202);
  t.is((await fetch(`${s.base}/api/v1/drain`, { method: 'POST', headers: auth, body: '{"pool": 3}' })).status, 400);
  t.is((await fetch(`${s.base}/api/v1/drain`, { method: 'POST', headers: auth, body: 'not json' })).status, 400);
  res = await fetch(`${s.base}/api/v1/deregister-all`, { method: 'POST', headers: auth });
  t.is(res.status, 200);
  t.like(await res.json(), { ok: true, removed: 2 });
  t.deepEqual(calls, [['drain', { pool: 'cd', timeoutMs: 5000 }], ['drain', {}], ['deregister']]);
});

test('drain/deregister without the dependency answer 501', async (t) => {
  const s = await startApi({ token: 'tok' });
  t.teardown(() => s.api.close());
  const auth = { authorization: 'Bearer tok' };
  t.is((await fetch(`${s.base}/api/v1/drain`, { method: 'POST', headers: auth })).status, 501);
  t.is((await fetch(`${s.base}/api/v1/deregister-all`, { method: 'POST', headers: auth })).status, 501);
});

test('webhook: a good signature is accepted (202) and the handler runs once', async (t) => {
  const s = await startApi();
  t.teardown(() => s.api.close());
  const res = await deliver(s.base, workflowJob(42), { deliveryId: 'd-42' });
  t.is(res.status, 202);
  await until(() => s.jobs.length === 1, 5000);
  t.like(s.jobs[0], {
    action: 'queued',
    deliveryId: 'd-42',
    job: { id: 42, runId: 420, labels: ['self-hosted', 'cd-pipeline'], runnerName: null, conclusion: null },
    repository: { fullName: 'acme/app', private: true },
    org: 'acme',
  });
});

test('webhook: a form-encoded delivery (GitHub\'s application/x-www-form-urlencoded content type, payload=<json>) is accepted (202) and handled like JSON', async (t) => {
  const s = await startApi();
  t.teardown(() => s.api.close());
  const body = new URLSearchParams({ payload: JSON.stringify(workflowJob(43)) }).toString();
  const headers = {
    'content-type': 'application/x-www-form-urlencoded',
    'x-github-event': 'workflow_job',
    'x-github-delivery': 'd-form-43',
    'x-hub-signature-256': await sign(SECRET, body),
  };
  const res = await fetch(`${s.base}/webhook`, { method: 'POST', body, headers });
  t.is(res.status, 202);
  await until(() => s.jobs.length === 1, 5000);
  t.like(s.jobs[0], { action: 'queued', deliveryId: 'd-form-43', job: { id: 43, runId: 430 }, repository: { fullName: 'acme/app', private: true } });
  // The signature still covers the body as sent: a form body signed as something else is 401.
  const forged = await fetch(`${s.base}/webhook`, { method: 'POST', body, headers: { ...headers, 'x-github-delivery': 'd-form-44', 'x-hub-signature-256': await sign(SECRET, JSON.stringify(workflowJob(43))) } });
  t.is(forged.status, 401);
});

test('webhook: bad or missing signature → 401 and no handler call', async (t) => {
  const s = await startApi();
  t.teardown(() => s.api.close());
  t.is((await deliver(s.base, workflowJob(1), { secret: 'wrong-secret' })).status, 401);
  t.is((await deliver(s.base, workflowJob(1), { signature: null })).status, 401);
  t.is((await deliver(s.base, workflowJob(1), { signature: 'sha256=00' })).status, 401);
  t.is((await deliver(s.base, workflowJob(1), { signature: 'garbage' })).status, 401);
  await new Promise((r) => setTimeout(r, 50));
  t.is(s.jobs.length, 0);
});

test('webhook: a replayed delivery id is acknowledged but not handled twice', async (t) => {
  const s = await startApi();
  t.teardown(() => s.api.close());
  t.is((await deliver(s.base, workflowJob(7), { deliveryId: 'same' })).status, 202);
  const replay = await deliver(s.base, workflowJob(7), { deliveryId: 'same' });
  t.is(replay.status, 202);
  t.deepEqual(await replay.json(), { duplicate: true });
  await until(() => s.jobs.length >= 1, 5000);
  await new Promise((r) => setTimeout(r, 50));
  t.is(s.jobs.length, 1);
});

test('webhook: ping → 200, other events → 202 ignored, no handler call', async (t) => {
  const s = await startApi();
  t.teardown(() => s.api.close());
  t.is((await deliver(s.base, { zen: 'hi', hook_id: 1 }, { event: 'ping' })).status, 200);
  const res = await deliver(s.base, { action: 'opened' }, { event: 'issues' });
  t.is(res.status, 202);
  t.deepEqual(await res.json(), { ignored: true });
  t.is((await deliver(s.base, { action: 'queued' })).status, 400, 'signed but not a workflow_job payload');
  await new Promise((r) => setTimeout(r, 50));
  t.is(s.jobs.length, 0);
});

test('webhook: over 1 MiB → 413, exactly 1 MiB is read and verified', async (t) => {
  const s = await startApi();
  t.teardown(() => s.api.close());
  const MiB = 1024 * 1024;
  t.is(await postRaw(s.port, '/webhook', Buffer.alloc(MiB + 1, 0x20)), 413);
  // Same size without a Content-Length (chunked): cut off while streaming.
  const chunked = await new Promise<number>((resolve, reject) => {
    import('node:http').then(({ request }) => {
      const req = request({ host: '127.0.0.1', port: s.port, path: '/webhook', method: 'POST' });
      req.on('response', (r) => (r.resume(), resolve(r.statusCode ?? 0)));
      req.on('error', reject);
      for (let i = 0; i < 17; i++) req.write(Buffer.alloc(64 * 1024, 0x20));
      req.end();
    }, reject);
  });
  t.is(chunked, 413);
  // A body of exactly 1 MiB passes the size check and fails only the signature check.
  t.is(await postRaw(s.port, '/webhook', Buffer.alloc(MiB, 0x20), { 'x-github-event': 'workflow_job', 'x-hub-signature-256': 'sha256=00' }), 401);
  t.is(s.jobs.length, 0);
});

test('webhook is 404 when no secret is configured', async (t) => {
  const s = await startApi({ webhookSecret: undefined });
  t.teardown(() => s.api.close());
  t.is((await deliver(s.base, workflowJob(1))).status, 404);
});

test('signature check matches the GitHub docs test vector', async (t) => {
  const secret = "It's a Secret to Everybody";
  const good = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
  t.is(await sign(secret, 'Hello, World!'), good);
  t.true(await verifySignature(secret, Buffer.from('Hello, World!'), good));
  t.false(await verifySignature(secret, Buffer.from('Hello, World?'), good));
  t.false(await verifySignature(SECRET, Buffer.from('Hello, World!'), good));
});
