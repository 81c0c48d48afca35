import type { Backend, BackendKind } from '../backends/types.js';
import type { Clock } from '../clock.js';
import type { FleetConfig, PoolConfig } from '../config/types.js';
import type { RunnerService, Token } from '../github/types.js';
import type { Logger } from '../log.js';
import type { LogArchive } from '../runner/log-archive.js';
import type { Store } from '../store/types.js';
import type { Failpoint } from '../daemon/failpoints.js';
import type { JobQueue } from './jobs.js';
import type { LaunchKit, ReconcileMetrics, ScaleSetPort } from './kit.js';
import type { PoolRuntime } from './pools.js';

/** What the executor may touch of a pool: its config and ids, and outcomes to report. */
export type PoolHandle = Pick<PoolRuntime, 'cfg' | 'groupId' | 'pattern' | 'mayCreate' | 'recordFailure' | 'recordSuccess'>;

/**
 * Everything the executor needs, and nothing of the reconciler's: it reads pools through
 * `pool()` (the reconciler keeps ownership) and signals changes through `retrigger()`.
 */
export interface ExecutorDeps {
  /** The current config (host name, GitHub URL); the reconciler swaps it on reload. */
  config(): Pick<FleetConfig, 'host' | 'github'>;
  pool(name: string): PoolHandle | undefined;
  jobs: Pick<JobQueue, 'oldestFor'>;
  /** Something changed that the next pass should see now rather than next tick. */
  retrigger(): void;
  store: Store;
  github: RunnerService;
  tokens: { get(scope: PoolConfig['scope'], kind: 'registration' | 'remove'): Promise<Token> };
  backends: Partial<Record<BackendKind, Backend>>;
  kit: LaunchKit;
  clock: Clock;
  logger: Logger;
  arch: string;
  metrics?: ReconcileMetrics;
  /** A runner exited 7: look for a newer runner version now. */
  onVersionDeprecated?: () => void;
  /** Crash tests: parks an action between its two steps (daemon/failpoints.ts). */
  failpoint?: Failpoint;
  /** This host's persistent id (host-id.ts): a label on every registration, on every container/unit. */
  hostId?: string;
  /** Keeps the last output of ended runners for `runner-fleet logs`. */
  logArchive?: LogArchive;
  /** scale.via: scaleset pools register and deregister through their scale sets. */
  scaleSets?: ScaleSetPort;
}

/** What one pass hands the executor along with its actions. */
export interface Pass {
  /** Runner version new runners get. */
  targetVersion: string | null;
}
