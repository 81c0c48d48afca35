import test from 'ava';
import cron from 'node-cron';
import { nextCronRun } from '../../src/config/cron.js';
import { isValidCron } from '../../src/config/schema.js';

// Local time, as both schedulers use the host's time zone.
const FROM = new Date(2026, 0, 1, 0, 3, 7); // Thu 1 Jan 2026 00:03:07

test('cron: next run in local time for the documented defaults and common forms', (t) => {
  t.deepEqual(nextCronRun('*/10 * * * *', FROM), new Date(2026, 0, 1, 0, 10));
  t.deepEqual(nextCronRun('0 4 * * *', FROM), new Date(2026, 0, 1, 4, 0));
  t.deepEqual(nextCronRun('0 4 * * *', new Date(2026, 0, 1, 4, 0)), new Date(2026, 0, 2, 4, 0), 'strictly after: a run never repeats');
  t.deepEqual(nextCronRun('30 */2 * * MON-FRI', FROM), new Date(2026, 0, 1, 0, 30));
  t.deepEqual(nextCronRun('0 0 * * 7', FROM), new Date(2026, 0, 4, 0, 0), '7 is Sunday');
  t.deepEqual(nextCronRun('*/20 * * * * *', FROM), new Date(2026, 0, 1, 0, 3, 20), 'six fields: seconds');
  t.deepEqual(nextCronRun('@daily', FROM), new Date(2026, 0, 2, 0, 0));
});

test('cron: day-of-month and day-of-week both restricted fire only when both match (node-cron rule, not Vixie OR)', (t) => {
  // Friday the 13th after 1 Jan 2026: February 2026.
  t.deepEqual(nextCronRun('0 4 13 * 5', FROM), new Date(2026, 1, 13, 4, 0));
  t.deepEqual(nextCronRun('0 4 13 * FRI', FROM), new Date(2026, 1, 13, 4, 0));
  t.deepEqual(nextCronRun('*/30 9 13 * FRI', new Date(2026, 1, 13, 9, 0)), new Date(2026, 1, 13, 9, 30), 'later the same day');
});

test('cron: agrees with node-cron (the scheduler it replaces) on every form it accepts', (t) => {
  const exprs = ['*/10 * * * *', '0 4 * * *', '5 4 * * sun', '0 22 * * 1-5', '23 0-20/2 * * *', '0 0,12 1 */2 *', '0 4 13 * 5', '15 3 1 * *', '0 0 1 1 *', '*/20 * * * * *', '0 0 29 2 *'];
  for (const e of exprs) {
    t.true(isValidCron(e), e);
    const task = cron.createTask(e, () => undefined);
    const [a, b] = task.getNextRuns(2);
    void task.destroy();
    // node-cron counts from now: compare from just before its next run, and from that run.
    t.is(nextCronRun(e, new Date(a!.getTime() - 1000))?.getTime(), a!.getTime(), e);
    t.is(nextCronRun(e, a!)?.getTime(), b!.getTime(), e);
  }
});
