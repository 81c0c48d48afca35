import type { Backend, BackendKind, ObservedRunner } from '../backends/types.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';

/**
 * What every backend runs now. A backend that cannot answer is reported unavailable, so the
 * planner leaves its runners alone instead of reading them as gone.
 */
export async function listBackends(
  backends: Partial<Record<BackendKind, Backend>>,
  logger: Logger,
): Promise<{ observed: ObservedRunner[]; unavailable: BackendKind[] }> {
  const observed: ObservedRunner[] = [];
  const unavailable: BackendKind[] = [];
  await Promise.all(
    (Object.entries(backends) as [BackendKind, Backend][]).map(async ([kind, b]) => {
      try {
        observed.push(...(await b.list()));
      } catch (err) {
        unavailable.push(kind);
        logger.warn({ backend: kind, err: describeError(err) }, 'backend unavailable; its runners are left alone');
      }
    }),
  );
  return { observed, unavailable };
}
