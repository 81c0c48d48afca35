import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';

/**
 * systemd's watchdog (WatchdogSec= in the unit): the daemon says WATCHDOG=1 from a timer on its
 * event loop, and only while reconcile passes keep finishing. A loop that is blocked (a read
 * that never returns) sends nothing, nor does a reconciler stuck on an await; either way
 * systemd kills the daemon after WatchdogSec and restarts it, and the new one adopts the
 * runners (they are in their own cgroups, containers or, for the process backend,
 * KillMode=process keeps them).
 */
export interface WatchdogDeps {
  /** WATCHDOG_USEC / WATCHDOG_PID, as systemd sets them. */
  env: NodeJS.ProcessEnv;
  notify: (assignment: string) => Promise<boolean>;
  /** When the last reconcile pass ended (epoch ms); null before the first. */
  lastPass: () => number | null;
  /**
   * A last pass older than this is a stuck reconciler. It must cover the longest legitimate
   * pass: one waiting out a GitHub rate limit (up to 15 min).
   */
  stallMs: number;
  clock: Clock;
  logger: Logger;
  /** Defaults to the host's process id (WATCHDOG_PID names the process systemd watches). */
  pid?: number;
}

export interface Watchdog {
  stop(): void;
  /** One check now (what the timer does). Exposed for tests. */
  tick(): Promise<boolean>;
}

/** Half of WATCHDOG_USEC, as sd_watchdog_enabled(3) advises; null when systemd asks for none. */
export function watchdogPeriodMs(env: NodeJS.ProcessEnv, pid = process.pid): number | null {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isFinite(usec) || usec <= 0) return null;
  if (env.WATCHDOG_PID !== undefined && Number(env.WATCHDOG_PID) !== pid) return null;
  return Math.max(1, Math.floor(usec / 2000));
}

export function startWatchdog(deps: WatchdogDeps): Watchdog | null {
  const period = watchdogPeriodMs(deps.env, deps.pid);
  if (period === null) return null;
  const since = deps.clock.now();
  let sending = false;
  let stalled = false;

  async function tick(): Promise<boolean> {
    const age = deps.clock.now() - (deps.lastPass() ?? since);
    if (age > deps.stallMs) {
      if (!stalled) deps.logger.error({ lastPassAgoMs: age }, 'reconcile stalled: no more watchdog pings, systemd will restart the daemon');
      stalled = true;
      return false;
    }
    if (stalled) deps.logger.info('reconcile progressing again: watchdog pings resume');
    stalled = false;
    // A ping still on its way (systemd-notify waits for PID 1) is enough; never queue them up.
    if (sending) return false;
    sending = true;
    try {
      return await deps.notify('WATCHDOG=1');
    } finally {
      sending = false;
    }
  }

  // A real timer, unlike the injected clock: what it checks is that this loop still turns.
  const timer = setInterval(() => void tick(), period);
  timer.unref();
  deps.logger.info({ periodMs: period, stallMs: deps.stallMs }, 'systemd watchdog enabled');
  return { stop: () => clearInterval(timer), tick };
}
