import test from 'ava';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { sign, verify } from '@octokit/webhooks-methods';
import { ManualClock } from '../src/clock.js';
import { startEmulator } from './emulator/index.js';
import { runIn, unpackRunner } from './emulator/testkit.js';
import type { Emulator } from './emulator/types.js';
import { until } from './helpers/poll.js';

interface Received { headers: IncomingHttpHeaders; body: string }

async function receiver(t: { teardown(fn: () => unknown): void }, status = 202): Promise<{ url: string; got: Received[] }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/webhook`, got };
}

async function jitRunner(emu: Emulator, name: string) {
  const res = await fetch(`${emu.apiUrl}/orgs/acme/actions/runners/generate-jitconfig`, {
    method: 'POST',
    headers: { authorization: 'token test-pat' },
    body: JSON.stringify({ name, labels: ['self-hosted', 'linux', 'x64'], runner_group_id: 1 }),
  });
  const { encoded_jit_config } = (await res.json()) as { encoded_jit_config: string };
  const proc = runIn(await unpackRunner(emu), 'bin/Runner.Listener', ['run'], { ACTIONS_RUNNER_INPUT_JITCONFIG: encoded_jit_config });
  await proc.waitFor('Listening for Jobs');
  return proc;
}

test('the docs HMAC test vector', async (t) => {
  t.is(await sign("It's a Secret to Everybody", 'Hello, World!'), 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17');
});

test('deliverWorkflowJob signs the raw body and sends the GitHub headers', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const rx = await receiver(t);
  const id = emu.queueJob({ labels: ['self-hosted', 'cd'] });
  t.is(await emu.deliverWorkflowJob(rx.url, 's3cret', 'queued', id, { deliveryId: 'd-1' }), 202);
  t.is(await emu.deliverWorkflowJob(rx.url, 's3cret', 'queued', id, { badSignature: true }), 202);
  const [good, bad] = rx.got as [Received, Received];
  t.is(good.headers['x-github-event'], 'workflow_job');
  t.is(good.headers['x-github-delivery'], 'd-1');
  t.regex(String(bad.headers['x-github-delivery']), /^[0-9a-f-]{36}$/);
  t.true(await verify('s3cret', good.body, String(good.headers['x-hub-signature-256'])));
  t.false(await verify('s3cret', bad.body, String(bad.headers['x-hub-signature-256'])));
  const p = JSON.parse(good.body);
  t.is(p.action, 'queued');
  for (const k of ['id', 'run_id', 'run_url', 'run_attempt', 'node_id', 'head_sha', 'url', 'html_url', 'status', 'conclusion', 'started_at',
    'completed_at', 'name', 'steps', 'check_run_url', 'labels', 'runner_id', 'runner_name', 'runner_group_id', 'runner_group_name',
    'workflow_name', 'head_branch', 'created_at']) t.true(k in p.workflow_job, k);
  t.like(p.workflow_job, { id, status: 'queued', conclusion: null, runner_name: null, labels: ['self-hosted', 'cd'] });
  t.truthy(p.repository.full_name);
  t.truthy(p.sender.login);
});

test('auto-delivery: queued, in_progress, completed as a runner takes and finishes the job', async (t) => {
  const rx = await receiver(t);
  const emu = await startEmulator({ webhook: { url: rx.url, secret: 'hook' } });
  t.teardown(() => emu.close());
  const proc = await jitRunner(emu, 'hooked');
  const id = emu.queueJob({ labels: ['self-hosted'], script: 'echo hi' });
  await emu.waitForJob(id);
  t.is(await proc.exited, 0);
  await until(() => emu.deliveries().length >= 3, 5000, 'three deliveries');
  t.deepEqual(emu.deliveries().map((d) => [d.action, d.status]), [['queued', 202], ['in_progress', 202], ['completed', 202]]);
  const payloads = rx.got.map((g) => JSON.parse(g.body).workflow_job);
  t.like(payloads[1], { status: 'in_progress', runner_name: 'hooked', conclusion: null });
  t.like(payloads[2], { status: 'completed', runner_name: 'hooked', conclusion: 'success' });
  for (const g of rx.got) t.true(await verify('hook', g.body, String(g.headers['x-hub-signature-256'])));
});

test('busy lags in the REST view, but delete answers 422 as soon as the job runs', async (t) => {
  const clock = new ManualClock(Date.now());
  const emu = await startEmulator({ clock, busyLagMs: 30_000 });
  t.teardown(() => emu.close());
  const proc = await jitRunner(emu, 'laggy');
  const id = emu.queueJob({ labels: ['self-hosted'], durationMs: 60_000 });
  await emu.waitForRunners((rs) => rs[0]?.busy === true);
  const rest = async () => ((await (await fetch(`${emu.apiUrl}/orgs/acme/actions/runners`, { headers: { authorization: 'token test-pat' } })).json()) as any).runners[0];
  t.false((await rest()).busy, 'GitHub has not noticed yet');
  const del = await fetch(`${emu.apiUrl}/orgs/acme/actions/runners/${emu.runners()[0]!.id}`, { method: 'DELETE', headers: { authorization: 'token test-pat' } });
  t.is(del.status, 422);
  clock.advance(30_000);
  t.true((await rest()).busy);
  proc.child.kill('SIGTERM');
  t.is(await proc.exited, 0);
  t.is((await emu.waitForJob(id)).conclusion, 'cancelled');
});

test('a runner killed mid-job: the job fails and the runner goes offline', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const first = await jitRunner(emu, 'doomed');
  const id = emu.queueJob({ labels: ['self-hosted'], script: 'echo started; sleep 30' });
  await first.waitFor('started');
  first.child.kill('SIGKILL');
  const job = await emu.waitForJob(id, 10_000);
  t.is(job.conclusion, 'failure');
  await emu.waitForRunners((rs) => rs.every((r) => r.status === 'offline' && !r.busy), 5000);
});
