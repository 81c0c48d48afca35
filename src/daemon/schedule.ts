import type { Clock } from '../clock.js';
import { nextCronRun } from '../config/cron.js';

/** setTimeout fires at once for a delay past 2^31-1 ms (~24.8 days): longer waits go in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface Scheduled {
  stop(): void;
}

/**
 * Runs `run` at every time the (validated) cron expression names, in the host's time zone, until
 * stopped. One timer per schedule, set for the next run only (see config/cron.ts for why not
 * node-cron's scheduler).
 */
export function scheduleCron(expr: string, run: () => void, clock: Clock): Scheduled {
  const stop = new AbortController();
  const loop = async () => {
    for (;;) {
      const next = nextCronRun(expr, new Date(clock.now()));
      if (!next) return;
      while (!stop.signal.aborted && clock.now() < next.getTime()) await clock.sleep(Math.min(next.getTime() - clock.now(), MAX_TIMER_MS), stop.signal);
      if (stop.signal.aborted) return;
      run();
    }
  };
  void loop().catch(() => undefined); // the abort that stop() sends
  return { stop: () => stop.abort() };
}
