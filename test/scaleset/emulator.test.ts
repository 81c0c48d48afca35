import test from 'ava';
import { rm } from 'node:fs/promises';
import { runIn, unpackRunner } from '../emulator/testkit.js';
import { makeSet, ssSetup } from './kit.js';

test('the fake runner runs a JIT config generated through a scale set and takes the assigned job; GitHub removes it after', async (t) => {
  const { client, emu } = await ssSetup(t, { scaleSets: { holdMs: 20_000 } });
  const dir = await unpackRunner(emu);
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const id = await makeSet(client);
  const s = await client.createSession(id, 'h1');
  const jit = await client.generateJitConfig(id, 'h1-burst-aaaaaa');
  const run = runIn(dir, 'bin/Runner.Listener', ['run', '--jitconfig', jit.encoded]);
  t.teardown(() => void run.child.kill('SIGKILL'));
  await run.waitFor('Listening for Jobs');
  const job = emu.queueJob({ labels: ['burst'], script: 'echo scaled' });
  const done = await emu.waitForJob(job, 15_000);
  t.is(done.conclusion, 'success');
  t.is(done.runnerName, 'h1-burst-aaaaaa');
  t.is(await run.exited, 0);
  t.false(emu.runners().some((r) => r.id === jit.runnerId));
  // The queue told the story: assigned, started, completed.
  const types: string[] = [];
  let last = 0;
  for (let i = 0; i < 3 && types.length < 3; i++) {
    const m = await s.getMessage(last, 2);
    if (!m) break;
    types.push(...m.jobs.map((j) => j.messageType));
    await s.deleteMessage(m.messageId);
    last = m.messageId;
  }
  t.deepEqual(types, ['JobAssigned', 'JobStarted', 'JobCompleted']);
});

test('a scale-set job is not taken by an ordinary runner with the same labels, and a scale-set runner takes no other job', async (t) => {
  const { client, emu } = await ssSetup(t, { scaleSets: { holdMs: 20_000 } });
  const dir = await unpackRunner(emu);
  const dir2 = await unpackRunner(emu);
  t.teardown(() => Promise.all([rm(dir, { recursive: true, force: true }), rm(dir2, { recursive: true, force: true })]));
  const id = await makeSet(client);
  // An ordinary JIT runner labelled burst.
  const res = await fetch(`${emu.apiUrl}/orgs/acme/actions/runners/generate-jitconfig`, {
    method: 'POST', headers: { authorization: 'token test-pat', 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'plain-1', runner_group_id: 1, labels: ['self-hosted', 'burst'] }),
  });
  const plain = runIn(dir, 'bin/Runner.Listener', ['run', '--jitconfig', ((await res.json()) as { encoded_jit_config: string }).encoded_jit_config]);
  t.teardown(() => void plain.child.kill('SIGKILL'));
  await plain.waitFor('Listening for Jobs');
  const ssJob = emu.queueJob({ labels: ['burst'] });
  const other = emu.queueJob({ labels: ['self-hosted', 'burst'] });
  t.is((await emu.waitForJob(other, 15_000)).runnerName, 'plain-1');
  t.is(emu.job(ssJob)!.status, 'queued');
  const jit = await client.generateJitConfig(id, 'h1-burst-bbbbbb');
  const ssRunner = runIn(dir2, 'bin/Runner.Listener', ['run', '--jitconfig', jit.encoded]);
  t.teardown(() => void ssRunner.child.kill('SIGKILL'));
  t.is((await emu.waitForJob(ssJob, 15_000)).runnerName, 'h1-burst-bbbbbb');
});

test('sessions expire after the client is gone: 409 until then, then a new session opens', async (t) => {
  let offsetMs = 0;
  const { client, emu } = await ssSetup(t, { clock: { now: () => Date.now() + offsetMs }, scaleSets: { holdMs: 20_000, sessionExpiryMs: 60_000 } });
  const id = await makeSet(client);
  const s = await client.createSession(id, 'h1');
  const ac = new AbortController();
  const poll = s.getMessage(0, 2, ac.signal).catch(() => null);
  await new Promise((r) => setTimeout(r, 50));
  ac.abort(); // the process died mid-poll
  await poll;
  await t.throwsAsync(client.createSession(id, 'h1'));
  offsetMs += 60_000; // the session's expiry passes
  t.truthy(await client.createSession(id, 'h1'));
  t.is(emu.scaleSets.get('h1-burst')!.conflicts, 1);
});
