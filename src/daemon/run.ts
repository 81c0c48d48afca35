import type { FleetConfig } from '../config/types.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { startDaemon, type Daemon } from './start.js';
import { systemClock } from '../clock.js';
import { createNotifier, type Notifier } from '../systemd-notify.js';
import { startWatchdog } from './watchdog.js';

/** Longest legitimate reconcile pass: one waiting out a GitHub rate limit (15 min), and a margin. */
const STALL_MS = 20 * 60_000;
import { failpointsFromEnv } from './failpoints.js';

/**
 * `runner-fleet daemon`: foreground, signals per the contract. SIGTERM/SIGINT stop as
 * shutdown.mode says (a second signal forces `keep`); SIGHUP reloads, and a bad new config
 * is logged while the old one keeps running.
 */
export async function runDaemon(opts: {
  config: FleetConfig;
  reload: () => Promise<FleetConfig>;
  logger: Logger;
  /** sd_notify sender; default: systemd-notify when $NOTIFY_SOCKET is set. */
  notifier?: Notifier;
}): Promise<number> {
  const { config, logger } = opts;
  const sd = opts.notifier ?? createNotifier({ onError: (err) => logger.warn({ err: describeError(err) }, 'sd_notify failed') });
  const notifySystemd = (msg: string) => void sd.notify(msg);
  // A stop signal during start-up (the API already answers) is held, not fatal: it is handled
  // as soon as the daemon can stop cleanly (lock released, runners per shutdown.mode).
  const early: string[] = [];
  const hold = (sig: string) => () => void early.push(sig);
  const holders = { SIGTERM: hold('SIGTERM'), SIGINT: hold('SIGINT') };
  for (const [sig, fn] of Object.entries(holders)) process.on(sig, fn);
  const unhold = () => {
    for (const [sig, fn] of Object.entries(holders)) process.off(sig, fn);
  };
  let daemon: Daemon;
  try {
    daemon = await startDaemon({ config, logger, failpoint: failpointsFromEnv(process.env, logger) });
  } catch (err) {
    unhold();
    logger.fatal({ err: describeError(err) }, 'daemon failed to start');
    return 1;
  }
  notifySystemd('READY=1');
  const watchdog = startWatchdog({
    env: process.env, notify: (m) => sd.notify(m), clock: systemClock, logger,
    lastPass: () => daemon.reconciler.lastReconcileAt,
    stallMs: Math.max(STALL_MS, 3 * config.reconcile.intervalMs),
  });

  return new Promise<number>((done) => {
    const resolve = (code: number) => {
      watchdog?.stop();
      done(code);
    };
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: leaving runners as they are');
        void daemon.shutdown('keep').finally(() => resolve(0));
        return;
      }
      stopping = true;
      notifySystemd('STOPPING=1');
      logger.info({ signal, mode: daemon.reconciler.config.shutdown.mode }, 'stopping');
      daemon.shutdown().then(
        () => resolve(0),
        (err) => {
          logger.error({ err: describeError(err) }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    unhold();
    for (const sig of early) stop(sig);
    process.on('SIGHUP', () => {
      notifySystemd('RELOADING=1');
      opts.reload().then(
        (cfg) => daemon.reload(cfg),
        (err) => logger.error({ err: describeError(err), issues: (err as { issues?: unknown }).issues }, 'reload refused: the running config stays'),
      ).finally(() => notifySystemd('READY=1'));
    });
  });
}
