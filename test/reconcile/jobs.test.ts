import test from 'ava';
import type { Clock } from '../../src/clock.js';
import { JobQueue } from '../../src/reconcile/jobs.js';

function clock(): Clock & { t: number } {
  return { t: 1_000_000, now() { return this.t; }, sleep: async () => undefined };
}

test('a job its runner already took stops counting as queued before GitHub says in_progress', (t) => {
  const q = new JobQueue(clock());
  q.add(1, 'cd', 10);
  t.is(q.queuedFor('cd'), 1);
  q.claim('h1-cd-aaaaaa', 'cd', 10); // the job-started hook of the runner that took it
  t.is(q.queuedFor('cd'), 0);
  q.take(1, 'h1-cd-aaaaaa', 10); // in_progress naming that runner
  t.is(q.queuedFor('cd'), 0);
  q.claim('h1-cd-aaaaaa', 'cd', 10); // the hook still says busy on the next pass
  t.is(q.queuedFor('cd'), 0);
});

test('claims only cancel queued jobs of the same run and pool', (t) => {
  const q = new JobQueue(clock());
  q.add(1, 'cd', 10);
  q.add(2, 'cd', 10);
  q.add(3, 'cd', 20);
  q.add(4, 'build', 10);
  q.claim('h1-cd-aaaaaa', 'cd', 10);
  q.claim('h1-cd-bbbbbb', 'cd', 99); // a run this queue never heard of
  q.claim('h1-cd-cccccc', 'cd', 10);
  q.claim('h1-cd-dddddd', 'cd', 10); // more claims than queued jobs of the run: never below zero
  t.is(q.queuedFor('cd'), 1);
  t.is(q.queuedFor('build'), 1);
});

test('a delivery that arrived before the hook was read leaves nothing to claim', (t) => {
  const q = new JobQueue(clock());
  q.add(1, 'cd', 10);
  q.add(2, 'cd', 10);
  q.take(1, 'h1-cd-aaaaaa', 10);
  q.claim('h1-cd-aaaaaa', 'cd', 10);
  t.is(q.queuedFor('cd'), 1, 'job 2 still waits for a runner');
});

test('jobs without a run id are counted as queued, and a claim never cancels them', (t) => {
  const q = new JobQueue(clock());
  q.add(1, 'cd');
  q.claim('h1-cd-aaaaaa', 'cd', 10);
  t.is(q.queuedFor('cd'), 1);
});

test('an unresolved claim expires after 10 minutes, a queued job after 30', (t) => {
  const c = clock();
  const q = new JobQueue(c);
  q.add(1, 'cd', 10);
  q.add(2, 'cd', 10);
  q.claim('h1-cd-aaaaaa', 'cd', 10);
  t.is(q.queuedFor('cd'), 1);
  c.t += 10 * 60_000 + 1;
  t.is(q.queuedFor('cd'), 2, 'the in_progress delivery never came: the claim stops counting');
  c.t += 20 * 60_000;
  t.is(q.queuedFor('cd'), 0);
});
