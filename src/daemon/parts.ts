import type { Metrics } from '../api/metrics.js';
import type { ApiDeps } from '../api/deps.js';
import type { ApiServer } from '../api/server.js';
import type { Backend, BackendKind } from '../backends/types.js';
import type { Clock } from '../clock.js';
import type { FleetConfig } from '../config/types.js';
import type { GitHubClient } from '../github/client.js';
import type { Logger } from '../log.js';
import type { Http } from '../net/http.js';
import type { Reconciler } from '../reconcile/reconciler.js';
import type { ScaleSetManager, ScaleSetManagerDeps } from '../scaleset/manager.js';
import type { Store } from '../store/types.js';
import type { DataDirLock } from './data-lock.js';
import type { Failpoint } from './failpoints.js';
import type { NetworkChecks } from './netchecks.js';
import type { ReloadOutcome } from './reload.js';
import type { ToolSet } from './tool-set.js';
import type { RunnerVersions } from './versions.js';
import type { Scheduled } from './schedule.js';

export interface DaemonOptions {
  config: FleetConfig;
  logger: Logger;
  clock?: Clock;
  /** Override backends (tests). */
  backends?: Partial<Record<BackendKind, Backend>>;
  /** Reconcile GitHub list cadence (tests/bench). */
  githubListIntervalMs?: number;
  /** Crash tests: points between the two steps of an action (see daemon/failpoints.ts). */
  failpoint?: Failpoint;
  /** Public-repository / runner-group re-check cadence (tests). */
  exposureCheckIntervalMs?: number;
  /** Scale-set listener tuning (tests/bench): hold time the server uses, watchdog, backoffs. */
  scaleSetListener?: ScaleSetManagerDeps['listener'];
  /**
   * deregister --all with no daemon running (src/daemon/decommission.ts): every pool drained
   * from the first pass; no API, schedules, network checks, downloads or scale-set listeners.
   */
  offline?: boolean;
}

export type Schedules = Scheduled[];

/** What a reload swaps. Parts built once reach these through getters or forwarding objects. */
export interface Live {
  config: FleetConfig;
  http: Http;
  gh: GitHubClient;
  crons: Schedules;
  /** deregister --all was asked for (reset by a reload). */
  deregistering: boolean;
  lastReload?: ReloadOutcome;
}

/** The parts built once at start, for reload and shutdown. */
export interface Parts {
  opts: DaemonOptions;
  logger: Logger;
  clock: Clock;
  store: Store;
  lock: DataDirLock;
  metrics: Metrics;
  reconciler: Reconciler;
  backends: Partial<Record<BackendKind, Backend>>;
  tools: ToolSet;
  versions: RunnerVersions;
  scaleSets: ScaleSetManager;
  netChecks: NetworkChecks;
  apiDeps: ApiDeps;
  api: ApiServer | undefined;
  /** Tools installed and the runner version cached (runners can start). */
  warmup: Promise<void>;
  stopping: AbortController;
  newGitHub(cfg: FleetConfig): GitHubClient;
  schedule(cfg: FleetConfig): Schedules;
}
