import type { Live, Parts } from './parts.js';
import { SHUTDOWN_WAIT_MS, within } from './within.js';

/** Stop per shutdown.mode: drain (idle deregistered, busy finish up to drainTimeout) or keep. */
export async function stopDaemon(p: Parts, live: Live, mode: 'drain' | 'keep'): Promise<void> {
  const { logger, reconciler } = p;
  for (const c of live.crons) c.stop();
  p.netChecks.stop();
  p.versions.stop();
  p.stopping.abort();
  // Downloads and token calls that cannot matter any more are not waited for (GitHub may be
  // unreachable: retries and timeouts would hold the stop for a minute or more).
  await within(p.warmup.catch(() => undefined), SHUTDOWN_WAIT_MS, () => logger.warn('shutdown: not waiting for tool/runner downloads still in flight'));
  if (mode === 'drain') {
    const done = await reconciler.drainAndWait(live.config.shutdown.drainTimeoutMs);
    if (!done) logger.warn('drain timeout: busy runners keep running their jobs and will be adopted at the next start');
  }
  await within(reconciler.stop(), SHUTDOWN_WAIT_MS, () => logger.warn('shutdown: not waiting for a reconcile pass stuck on the network'));
  // Sessions are deleted so the next start gets one at once; the scale sets stay (assigned jobs are kept).
  await within(p.scaleSets.stop(), SHUTDOWN_WAIT_MS, () => logger.warn('shutdown: not waiting for scale-set sessions to close'));
  await p.api?.close();
  for (const b of Object.values(p.backends)) await b?.close?.();
  // destroy, not close: close would wait for requests to a host that does not answer.
  await live.http.destroy().catch(() => undefined);
  p.store.close();
  p.lock.release();
  logger.info({ mode }, 'runner-fleet daemon stopped');
}
