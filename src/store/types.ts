import type { BackendKind } from '../config/types.js';

/**
 * pending_create → creating → idle ⇄ busy → pending_delete → deleting → gone, plus failed.
 * Intent (pending_*) is written before acting; rows left in creating/deleting at start are
 * reconciled against what the backend and GitHub really show.
 */
export type RunnerState =
  | 'pending_create'
  | 'creating'
  | 'idle'
  | 'busy'
  | 'pending_delete'
  | 'deleting'
  | 'gone'
  | 'failed';

export interface RunnerRow {
  name: string;
  pool: string;
  backend: BackendKind;
  state: RunnerState;
  ephemeral: boolean;
  /** Runner version this runner was started with. */
  version: string | null;
  githubId: number | null;
  labels: string[];
  /** A job hook said a job started and has not said it ended. */
  busy: boolean;
  /** This runner took at least one job (hook or GitHub said so). */
  ranJob: boolean;
  jobName: string | null;
  createdAt: number;
  startedAt: number | null;
  updatedAt: number;
  lastExitCode: number | null;
  lastError: string | null;
  /** Why it is being deleted (scale-down, version-roll, drain, exit, orphan...). */
  reason: string | null;
}

export interface StoredToken {
  scopeKey: string; // e.g. org:my-org, repo:o/r, enterprise:e
  kind: 'registration' | 'remove';
  token: string;
  expiresAt: number;
  fetchedAt: number;
}

export interface StoredVersion {
  version: string;
  sha256: string;
  path: string;
  fetchedAt: number;
}

export interface StoredTool {
  name: string;
  version: string;
  arch: string;
  sha256: string;
  path: string;
  versionOutput: string | null;
  installedAt: number;
}

export interface StoredEvent {
  id: number;
  at: number;
  kind: string;
  runner: string | null;
  pool: string | null;
  data: Record<string, unknown>;
}

/** A scale.via: scaleset pool's scale set, as this host last knew it. */
export interface StoredScaleSet {
  pool: string;
  scopeKey: string;
  name: string;
  scaleSetId: number;
  runnerGroupId: number;
  /** Highest message id handled and acknowledged: the next poll starts after it. */
  lastMessageId: number;
  /** The statistics of the last message or session (totalAssignedJobs drives scaling). */
  statistics: Record<string, number>;
  updatedAt: number;
}

export interface RunnerPatch extends Partial<Omit<RunnerRow, 'name' | 'createdAt'>> {}

export interface Store {
  readonly path: string;
  runners: {
    insert(row: Omit<RunnerRow, 'updatedAt'>): RunnerRow;
    get(name: string): RunnerRow | undefined;
    /** Rows not in state 'gone' unless includeGone. */
    list(filter?: { pool?: string; states?: RunnerState[]; includeGone?: boolean }): RunnerRow[];
    update(name: string, patch: RunnerPatch): RunnerRow;
    /** Drop 'gone' and 'failed' rows (history) last touched before the given epoch ms. */
    purgeGone(olderThan: number): number;
    remove(name: string): void;
  };
  tokens: {
    get(scopeKey: string, kind: StoredToken['kind']): StoredToken | undefined;
    put(t: StoredToken): void;
    list(): StoredToken[];
  };
  versions: {
    get(version: string): StoredVersion | undefined;
    put(v: StoredVersion): void;
    list(): StoredVersion[];
  };
  tools: {
    get(name: string, version: string, arch: string): StoredTool | undefined;
    put(t: StoredTool): void;
    list(): StoredTool[];
  };
  events: {
    append(e: Omit<StoredEvent, 'id' | 'at'> & { at?: number }): void;
    recent(limit: number, filter?: { runner?: string; kind?: string; pool?: string }): StoredEvent[];
  };
  scaleSets: {
    get(pool: string): StoredScaleSet | undefined;
    put(s: Omit<StoredScaleSet, 'updatedAt'>): void;
    update(pool: string, patch: Partial<Pick<StoredScaleSet, 'lastMessageId' | 'statistics'>>): void;
    list(): StoredScaleSet[];
    remove(pool: string): void;
  };
  /** Small key/value facts that outlive a restart (e.g. when doctor first saw a runner release). */
  meta: {
    get(key: string): string | undefined;
    set(key: string, value: string): void;
  };
  transaction<T>(fn: () => T): T;
  close(): void;
}
