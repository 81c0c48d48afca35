import { constants } from 'node:os';
import type { ObservedState } from '../types.js';

/**
 * Docker's container states folded into ours; `removing`/`dead` are as good as exited.
 * `created` is a container that was never started: its creator (a daemon killed between create
 * and start) is gone, so nothing will ever start it. Counting it as running would hold the
 * pool's slot forever; as exited it is reaped and replaced. Our own create in flight is not
 * affected: the planner leaves runners with an action in flight alone.
 */
export function observedState(dockerState: string | undefined): ObservedState {
  switch (dockerState) {
    case 'running':
    case 'paused':
      return 'running';
    case 'restarting':
      return 'starting';
    default:
      return 'exited';
  }
}

const SIGNAL_NAMES = new Map<number, string>(Object.entries(constants.signals).map(([name, n]) => [n, name]));

/**
 * The init (tini) in front of the runner reports a signal death as 128+n, like a shell.
 * The runner's own exit codes are all small, so 129..159 is read as "killed by signal n".
 */
export function exitFromCode(code: number | null): { exitCode: number | null; signal?: string | null } {
  if (code !== null && code > 128 && code < 160) {
    return { exitCode: null, signal: SIGNAL_NAMES.get(code - 128) ?? `SIG${code - 128}` };
  }
  return { exitCode: code };
}
