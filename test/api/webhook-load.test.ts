import test from 'ava';
import { request, type ClientRequest } from 'node:http';
import net from 'node:net';
import { sign } from '@octokit/webhooks-methods';
import { SECRET, startApi, workflowJob } from './helpers.js';

const MiB = 1024 * 1024;

/** A 1 MiB signed delivery whose body is held back after `sent` bytes until release() is called. */
async function heldDelivery(port: number, id: number, sent = 1024) {
  const json = JSON.stringify(workflowJob(id));
  const body = Buffer.alloc(MiB, 0x20);
  body.write(json, 0);
  const signature = await sign(SECRET, body.toString('utf8'));
  let req!: ClientRequest;
  const status = new Promise<number>((resolve) => {
    req = request({
      host: '127.0.0.1', port, path: '/webhook', method: 'POST', agent: false,
      headers: {
        'content-type': 'application/json', 'content-length': String(body.length), 'x-github-event': 'workflow_job',
        'x-github-delivery': `flood-${id}`, 'x-hub-signature-256': signature,
      },
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(-1));
  });
  req.write(body.subarray(0, sent));
  return { status, release: () => req.end(body.subarray(sent)) };
}

test('webhook flood: past the concurrency cap deliveries get 503 before their body is read; the admitted ones finish', async (t) => {
  const s = await startApi({ limits: { webhookConcurrency: 4 } });
  t.teardown(() => s.api.close());
  const held = await Promise.all(Array.from({ length: 20 }, (_, i) => heldDelivery(s.port, i + 1)));
  const answered: number[] = [];
  for (const h of held) void h.status.then((code) => answered.push(code));
  // Four bodies are being read (held open by their senders); every other delivery is refused now.
  await until(() => answered.length >= 16);
  t.deepEqual(answered, Array(16).fill(503));
  for (const h of held) h.release();
  const all = await Promise.all(held.map((h) => h.status));
  t.is(all.filter((c) => c === 202).length, 4, 'the admitted four are read and accepted');
  t.is(s.jobs.length, 4);
  t.regex(await s.metrics.render(), /runner_fleet_webhook_deliveries_total\{result="overloaded"\} 16/);
});

test('webhook flood with 1 MiB bodies: every request answered 202 or 503, memory bounded, healthz answers throughout', async (t) => {
  const s = await startApi({ limits: { webhookConcurrency: 8 } });
  t.teardown(() => s.api.close());
  const total = 120;
  const parallel = 40;
  const codes = new Map<number, number>();
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const id = ++next;
      const h = await heldDelivery(s.port, 1000 + id, MiB);
      h.release();
      const code = await h.status;
      codes.set(code, (codes.get(code) ?? 0) + 1);
      peak = Math.max(peak, process.memoryUsage().rss);
    }
  };
  const flood = Promise.all(Array.from({ length: parallel }, worker));
  const health = await fetch(`${s.base}/healthz`);
  t.is(health.status, 200, 'healthz during the flood');
  await flood;
  t.is([...codes.values()].reduce((a, b) => a + b, 0), total);
  t.deepEqual([...codes.keys()].filter((c) => c !== 202 && c !== 503), [], 'no error or dropped request');
  t.true((codes.get(202) ?? 0) >= 8);
  // Client and server share this process: the figure covers both, for the record only.
  t.log(`${total} × 1 MiB, ${parallel} in parallel, cap 8: ${codes.get(202) ?? 0} accepted, ${codes.get(503) ?? 0} refused; RSS +${Math.round((peak - rss0) / MiB)} MiB`);
});

test('connections past maxConnections are dropped; the server keeps answering', async (t) => {
  const s = await startApi({ limits: { maxConnections: 8 } });
  t.teardown(() => s.api.close());
  const sockets: net.Socket[] = [];
  let closed = 0;
  for (let i = 0; i < 20; i++) {
    const sock = net.connect(s.port, '127.0.0.1');
    sock.on('error', () => undefined);
    sock.on('close', () => closed++);
    sockets.push(sock);
    await new Promise((r) => sock.once('connect', r).once('close', r));
  }
  await until(() => closed >= 12);
  t.is(closed, 12, 'exactly the connections past the cap were dropped');
  for (const sock of sockets) sock.destroy();
  await until(() => closed === 20);
  t.is((await fetch(`${s.base}/healthz`)).status, 200);
});

async function until(pred: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
