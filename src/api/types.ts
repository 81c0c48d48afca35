import type { BackendKind } from '../config/types.js';

/** GET /api/v1/status. Every field is plain JSON; times are epoch ms. */
export interface StatusReport {
  host: string;
  /** This host's persistent id (its registrations carry label rf-host-{first 8}). */
  hostId?: string;
  version: string;
  pools: PoolStatus[];
  tokens: { scope: string; kind: 'registration' | 'remove'; expiresAt: number }[];
  tools: { name: string; version: string; installed: boolean; sha256: string | null; error?: string; errorCode?: string }[];
  networkChecks: { target: string; ok: boolean; detail: string }[];
  /** requests: REST calls (rate limited); actionsService: scale-set calls (long polls, acks, sessions). */
  github: { rateLimitRemaining: number | null; requests: number; actionsService?: number };
  /** Every pool is draining (a host-wide `drain`, or shutdown). Per pool: PoolStatus.draining. */
  draining?: boolean;
  /**
   * The last SIGHUP: applied, or refused whole. `restartRequired` names the keys whose change
   * only a restart applies (host.name, host.dataDir, api.listen, github.url/apiUrl).
   */
  reload?: { at: number; result: 'applied' | 'refused'; changed: string[]; restartRequired: string[]; error?: string };
  /** Set after deregister --all: scale sets are deleted once their pools have no runners. */
  deregistering?: boolean;
}

export interface PoolStatus {
  name: string;
  backend: BackendKind;
  /** Human form: org:acme, repo:acme/app, enterprise:ent */
  scope: string;
  desired: number;
  actual: number;
  /** null: unknown (read from the state database, the daemon is not running). */
  healthy: boolean | null;
  /** Starting no runners until `runner-fleet undrain` (or the daemon is stopping). */
  draining?: boolean;
  error?: string;
  /** FleetError code of `error` (e.g. PUBLIC_REPO_REFUSED, GITHUB_AUTH), for scripts. */
  errorCode?: string;
  /** What to check for this error, when there is a likely cause. */
  hint?: string;
  runners: RunnerStatus[];
  /** Registrations named like this pool's runners that carry another host's id: left alone. */
  foreign?: { name: string; message: string }[];
  /** The pool's last runner exits, newest first, with their cause (job_done, exit_code, oom, signal, engine_gone, disk_full, interrupted). */
  lastExits?: RunnerExitStatus[];
  /** scale.via: scaleset pools: the scale set and its listener. */
  scaleSet?: ScaleSetStatus;
}

export interface RunnerExitStatus {
  runner: string;
  at: number;
  cause: string;
  exitCode: number | null;
  signal: string | null;
  /** The exit code's meaning per runner-facts (job-done, registration-gone, retryable...). */
  meaning: string;
}

export interface ScaleSetStatus {
  name: string;
  id: number | null;
  /** connected | conflict (another session alive, e.g. ~50 s after a crash) | backing-off | starting | stopped */
  listener: string;
  /** epoch ms of the last long poll that returned, or null */
  lastPollAt: number | null;
  statistics: Record<string, number> | null;
  lastMessageId: number;
  error?: string;
}

export interface RunnerStatus {
  name: string;
  /** Store state: idle, busy, creating, pending_delete... */
  state: string;
  backend: BackendKind;
  githubId: number | null;
  busy: boolean;
  labels: string[];
  startedAt: number | null;
  version: string | null;
}

/** The slice of a workflow_job delivery the daemon acts on (docs/runner-facts.md §4). */
export interface WorkflowJobEvent {
  action: 'queued' | 'waiting' | 'in_progress' | 'completed' | string;
  deliveryId: string;
  job: {
    id: number;
    runId: number;
    name: string;
    labels: string[];
    status: string;
    conclusion: string | null;
    runnerId: number | null;
    runnerName: string | null;
    runnerGroupName: string | null;
  };
  repository: { fullName: string; private: boolean };
  org?: string;
}

export interface HealthInfo {
  /** false forces 503 (e.g. the daemon is shutting down). */
  ok: boolean;
  /** When the last reconcile pass finished (epoch ms), or null if none yet. */
  lastReconcileAt: number | null;
  intervalMs: number;
}

export interface DrainRequest {
  pool?: string;
  timeoutMs?: number;
}
