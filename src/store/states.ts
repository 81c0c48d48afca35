import type { RunnerState } from './types.js';

/**
 * Allowed state changes. Deliberately permissive where reality forces it (GitHub may answer
 * 422 to a delete, so pending_delete/deleting may fall back to busy; adoption at start may
 * resolve creating to anything, and a runner that started despite a failed create is what it
 * is), strict where a change would hide a bug: 'gone' is final (a new insert under the same
 * name replaces a gone row), and only a failed row goes back to pending_create.
 */
const NEXT: Record<RunnerState, readonly RunnerState[]> = {
  pending_create: ['creating', 'idle', 'busy', 'failed', 'pending_delete', 'deleting', 'gone'],
  creating: ['idle', 'busy', 'failed', 'pending_delete', 'deleting', 'gone'],
  idle: ['busy', 'pending_delete', 'deleting', 'failed', 'gone'],
  busy: ['idle', 'pending_delete', 'deleting', 'failed', 'gone'],
  pending_delete: ['deleting', 'idle', 'busy', 'failed', 'gone'],
  deleting: ['gone', 'idle', 'busy', 'pending_delete', 'failed'],
  failed: ['pending_create', 'creating', 'idle', 'busy', 'pending_delete', 'deleting', 'gone'],
  gone: [],
};

export const RUNNER_STATES = Object.keys(NEXT) as RunnerState[];

/** Same-state writes are always fine (a patch that only sets lastError, say). */
export function canTransition(from: RunnerState, to: RunnerState): boolean {
  return from === to || NEXT[from].includes(to);
}
