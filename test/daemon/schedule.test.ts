import test from 'ava';
import { ManualClock } from '../../src/clock.js';
import { scheduleCron } from '../../src/daemon/schedule.js';

const tick = () => new Promise((r) => setImmediate(r));

// Issue 13 (footprint): node-cron matched every candidate through an Intl.DateTimeFormat, and
// luxon (under cron-parser) builds one to find the system locale; the first one maps ~5 MB of
// ICU data into the daemon's RSS for good. Serial, so it runs first: luxon caches that locale.
test.serial('schedule: computing and waiting for cron times builds no Intl.DateTimeFormat', async (t) => {
  const Real = Intl.DateTimeFormat;
  let built = 0;
  Intl.DateTimeFormat = new Proxy(Real, {
    construct: (target, args) => (built++, Reflect.construct(target, args)),
    apply: (target, self, args) => (built++, Reflect.apply(target, self, args)),
  });
  try {
    const clock = new ManualClock(new Date(2026, 0, 1, 0, 3).getTime());
    let runs = 0;
    const s = scheduleCron('0 4 13 * FRI', () => runs++, clock);
    await tick();
    clock.advance(new Date(2026, 1, 13, 4, 0).getTime() - clock.now());
    await tick();
    await tick();
    s.stop();
    t.is(runs, 1);
    t.is(built, 0);
  } finally {
    Intl.DateTimeFormat = Real;
  }
});

test('schedule: runs at each cron time on the injected clock, and not after stop', async (t) => {
  const clock = new ManualClock(new Date(2026, 0, 1, 0, 3).getTime());
  const runs: number[] = [];
  const s = scheduleCron('*/10 * * * *', () => runs.push(clock.now()), clock);
  await tick();
  clock.advance(6 * 60_000); // 00:09
  await tick();
  t.deepEqual(runs, []);
  clock.advance(60_000); // 00:10
  await tick();
  clock.advance(10 * 60_000); // 00:20
  await tick();
  t.deepEqual(runs, [new Date(2026, 0, 1, 0, 10).getTime(), new Date(2026, 0, 1, 0, 20).getTime()]);
  s.stop();
  clock.advance(10 * 60_000);
  await tick();
  t.is(runs.length, 2);
});

test('schedule: a run a month away (past what one timer holds) fires once, at its time', async (t) => {
  const clock = new ManualClock(new Date(2026, 0, 2, 0, 0).getTime());
  let runs = 0;
  const s = scheduleCron('0 4 1 * *', () => runs++, clock); // 1 Feb 04:00, ~30 days on
  await tick();
  clock.advance(2 ** 31 - 1);
  await tick();
  t.is(runs, 0);
  clock.advance(new Date(2026, 1, 1, 4, 0).getTime() - clock.now());
  await tick();
  await tick();
  t.is(runs, 1);
  s.stop();
});
