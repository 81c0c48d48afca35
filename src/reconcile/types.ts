import type { BackendKind, Sizing } from '../config/types.js';
import type { ObservedRunner } from '../backends/types.js';
import type { GitHubRunner } from '../github/types.js';
import type { RunnerRow } from '../store/types.js';

/** What the planner needs to know about a pool right now. */
export type PoolView = Sizing & {
  name: string;
  backend: BackendKind;
  ephemeral: boolean;
  /** Runner version new runners get; idle runners on another version are rolled. */
  targetVersion: string | null;
  /** Pool can start runners (initialised, not in backoff, not draining, not broken). */
  canCreate: boolean;
  /** Set while a host.capacity floor (or the CPU budget) is not met: what is short. Nothing new starts; running runners stay. */
  hostCapacity?: string;
  /** CPU limit of one runner (limits.cpus, else docker.cpus): what it takes of host.capacity.cpus. */
  cpus?: number;
  draining: boolean;
  /** Queued jobs (webhook) routed to this pool and not yet picked up by a runner. */
  queuedJobs: number;
  /** scale.via: scaleset: jobs assigned to the pool's scale set (statistics, corrected for lag). */
  assignedJobs?: number;
  /** The pool's whole-name ownership pattern. */
  namePattern: RegExp;
};

export interface JobHookState {
  state: 'busy' | 'idle';
  at: number;
  /** GITHUB_RUN_ID of the job the runner took (job-started hook). */
  runId?: number;
  /** Job-completed hook: OOM kills in the runner's memory cgroup during its last job. */
  oomKills?: number;
}

export interface Observation {
  now: number;
  /** This host's name: resources of pools no longer configured are ours only by the whole-name pattern. */
  host: string;
  pools: PoolView[];
  /** Store rows that are not gone. */
  rows: RunnerRow[];
  /** What the backends run (only this host's). Missing backend kinds are listed in `unavailable`. */
  observed: ObservedRunner[];
  /** Backends whose list() failed: their rows are left alone this round. */
  unavailable: BackendKind[];
  /** Latest GitHub view per pool (registrations whose name matches the pool pattern), if known. */
  github: Map<string, GitHubRunner[]> | null;
  /** Job hook state by runner name (the local busy truth). */
  hooks: Map<string, JobHookState>;
  /** Runners a job vandalised a file of (a FIFO, link or garbage where the hooks write): replaced. */
  tainted?: ReadonlySet<string>;
  /** This host's id label: a ghost is deleted only if it carries it (host-id.ts). */
  hostLabel?: string;
  /**
   * host.capacity.cpus, when set: new runners start only while the CPU limits of the runners
   * that exist plus theirs fit. `gonePools`: the last known per-runner CPUs of removed pools.
   */
  cpu?: { budget: number; gonePools?: ReadonlyMap<string, number> };
}

export type Action =
  | { kind: 'create'; pool: string; reason: string }
  /** Stop an idle runner: deregister first (422 → it is busy, keep it), then destroy. */
  | { kind: 'retire'; name: string; pool: string; reason: string }
  /** A runner that is no longer running: clean registration, resource and dir; count the exit. */
  | { kind: 'reap'; name: string; pool: string; exitCode: number | null; reason: string; signal?: string; oomKilled?: boolean }
  /** A row left mid-flight by a previous daemon, or a running runner whose row is behind. */
  | { kind: 'mark'; name: string; state: 'idle' | 'busy'; reason: string }
  /** A backend resource of this host with no live row: adopt it or remove it. */
  | { kind: 'adopt'; name: string; pool: string; backend: BackendKind }
  /** `running`: a removed pool's runner that still runs: stopped busy-safely, like a retire. */
  | { kind: 'orphan'; name: string; backend: BackendKind; pool: string; running: boolean }
  /** Offline GitHub registration matching our pattern that nothing here knows: a ghost. */
  | { kind: 'ghost'; pool: string; githubId: number; name: string };
