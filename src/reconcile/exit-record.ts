import type { Backend } from '../backends/types.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { LogArchive } from '../runner/log-archive.js';
import type { RunnerRow, Store } from '../store/types.js';
import { DISK_FULL_RE, exitCause, type ExitCause, type ExitMeaning } from './exits.js';
import type { Action } from './types.js';

/** Lines of a gone runner's output kept for `runner-fleet logs` and read for ENOSPC. */
const TAIL_LINES = 1000;

export interface ExitRecordDeps {
  store: Store;
  logger: Logger;
  backend?: Backend;
  logArchive?: LogArchive;
  onCause?(pool: string, cause: ExitCause): void;
}

/**
 * Says why a runner ended and keeps it with the runner's history: its last output goes to the
 * log archive (before the backend removes it), the cause and facts to the events table, the
 * cause to the metrics. Best effort: a runner is cleaned up even when its logs cannot be read.
 */
export async function recordExit(
  deps: ExitRecordDeps,
  row: RunnerRow,
  a: Extract<Action, { kind: 'reap' }>,
  meaning: ExitMeaning,
): Promise<ExitCause> {
  let output = '';
  if (deps.backend?.logs && a.reason !== 'interrupted-create') {
    try {
      output = await deps.backend.logs(row.name, { tail: TAIL_LINES });
      if (output) await deps.logArchive?.save(row.name, output);
    } catch (err) {
      deps.logger.debug({ runner: row.name, err: describeError(err) }, 'no output kept for ended runner');
    }
  }
  const cause = exitCause(
    {
      exitCode: a.exitCode,
      signal: a.signal ?? null,
      oomKilled: a.oomKilled === true,
      vanished: a.reason === 'vanished',
      interrupted: a.reason === 'interrupted-create',
      diskFull: DISK_FULL_RE.test(output.slice(-16_384)),
    },
    meaning,
  );
  deps.store.events.append({
    kind: 'runner.exited',
    runner: row.name,
    pool: row.pool,
    data: { exitCode: a.exitCode, signal: a.signal ?? null, cause, meaning: meaning.label, reason: a.reason, ranJob: row.ranJob },
  });
  deps.onCause?.(row.pool, cause);
  const level = cause === 'job_done' ? 'info' : 'warn';
  deps.logger[level]({ runner: row.name, pool: row.pool, exitCode: a.exitCode, signal: a.signal, cause, meaning: meaning.label }, 'runner ended');
  return cause;
}
