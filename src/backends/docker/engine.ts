import type Dockerode from 'dockerode';
import type { Clock } from '../../clock.js';
import { FleetError } from '../../errors.js';

/** The engine's HTTP status on a failed call; undefined when it never answered. */
export const statusOf = (err: unknown) => (err as { statusCode?: number } | null)?.statusCode;

export function engineError(what: string, err: unknown): FleetError {
  if (err instanceof FleetError) return err;
  const code = statusOf(err);
  // The engine's own words say what to fix (bad mount, unknown network); they carry no env values.
  const reason = (err as { json?: { message?: string } }).json?.message ?? (err as Error).message;
  // No status code means no answer at all: socket missing, refused, engine restarting.
  return new FleetError(code === undefined ? 'BACKEND_UNAVAILABLE' : 'BACKEND_FAILED', `docker: ${what}: ${reason}`, { cause: err });
}

/** Until the container stops, the grace runs out or the caller aborts; never throws. */
export async function waitStopped(c: Dockerode.Container, graceMs: number, clock: Clock, signal?: AbortSignal): Promise<void> {
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await Promise.race([
      c.wait({ condition: 'not-running', abortSignal: ac.signal }).catch(() => undefined),
      clock.sleep(graceMs, ac.signal).catch(() => undefined),
    ]);
  } finally {
    ac.abort();
    signal?.removeEventListener('abort', onAbort);
  }
}
