import type { Scope } from '../config/types.js';
import type { JobMessage, ScaleSetStatistics } from '../github/scaleset/types.js';

/** What a listener needs of its pool (kept narrow: the pool config's shape is not its business). */
export interface ListenerPool {
  name: string;
  scope: Scope;
  runnerGroup: string;
  /** Scale-set labels: the pool's own labels (scale-set runners get no default labels). */
  labels: string[];
  max: number;
}

export type ListenerState = 'starting' | 'connected' | 'conflict' | 'backing-off' | 'stopped';

export interface ListenerStatus {
  pool: string;
  scaleSet: string;
  scaleSetId: number | null;
  state: ListenerState;
  /** epoch ms of the last long poll that returned (message or 202), or null. */
  lastPollAt: number | null;
  statistics: ScaleSetStatistics | null;
  lastMessageId: number;
  messages: number;
  error: string | null;
}

/** Events the listener reports to the daemon. */
export interface ListenerEvents {
  /** Statistics or job events were recorded: reconcile now. */
  changed(pool: string): void;
  /** JobStarted / JobCompleted for a runner, recorded before the message is acknowledged. */
  job?(pool: string, job: JobMessage): void;
}
