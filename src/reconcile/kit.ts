import type { PoolConfig } from '../config/types.js';
import type { RunnerSpec } from '../backends/types.js';
import type { CapacityFigure } from './capacity.js';
import type { JobHookState } from './types.js';

/** How a new runner proves itself to GitHub. */
export type Registration =
  | { kind: 'jit'; encoded: string }
  | { kind: 'token'; token: string; url: string; labels: string[]; runnerGroup: string };

/**
 * The runner-side edge the reconciler drives: building a runner directory and spec, cleaning
 * it up, reading the job hook file and the registration id. src/daemon/launch.ts builds it from
 * src/runner and src/tools; tests may build a smaller one.
 */
export interface LaunchKit {
  spec(pool: PoolConfig, name: string, version: string, reg: Registration): Promise<RunnerSpec>;
  cleanup(name: string): Promise<void>;
  /**
   * What the runner's job hooks last said. The file is the job's to write: a vandalised one
   * (FIFO, link, huge, garbage) rejects with FleetError RUNNER_FILE_REFUSED.
   */
  readHook(name: string): Promise<JobHookState | undefined>;
  /** Forget what readHook keeps about runners other than these (gone ones): no growth. */
  retainHooks?(names: Iterable<string>): void;
  /** The registration id in the runner's own `.runner` (agentId): job-writable, a hint only. */
  registrationId?(name: string): Promise<number | undefined>;
  /** Empty an idle runner's own _work; the bytes freed. */
  pruneWork?(name: string): Promise<number>;
}

/** Per-event hooks for metrics; every method optional so tests can pass {}. */
export interface ReconcileMetrics {
  reconcileDuration?(seconds: number): void;
  scaleUpLatency?(pool: string, backend: string, seconds: number): void;
  runnerRestart?(pool: string, exitCode: number | null): void;
  /** A runner ended, by cause (see ExitCause). */
  runnerExit?(pool: string, cause: string): void;
  job?(pool: string, conclusion: string): void;
  runners?(counts: { pool: string; state: string; count: number }[]): void;
  poolHealthy?(pool: string, healthy: boolean): void;
  /** Bytes disk hygiene removed (work_dir, ...). */
  diskFreed?(pool: string, what: string, bytes: number): void;
  /** Every pass: host.capacity figures and which pools they hold back. */
  capacity?(figures: CapacityFigure[], pools: { pool: string; blocked: boolean }[], cpu?: { budget: number; allocated: number }): void;
  /** Every pass: each configured pool's labels, desired count and webhook queue. */
  pools?(pools: { pool: string; backend: string; labels: string[]; desired: number; queued: number; oldestQueuedAt?: number }[]): void;
}

/**
 * The scale-set side for scale.via: scaleset pools (src/scaleset/manager.ts): their demand, and
 * registration and deregistration through the scale set instead of the REST runner API.
 */
export interface ScaleSetPort {
  /** Each pass: the pools that passed their checks (public-repo guard, runner group); listeners follow them. */
  syncPools(pools: PoolConfig[]): void;
  has(pool: string): boolean;
  /** The scale set exists and JIT configs can be generated. */
  ready(pool: string): boolean;
  /** totalAssignedJobs of the last statistics and when they were recorded (epoch ms). */
  assigned(pool: string): { jobs: number; at: number } | null;
  jitConfig(pool: string, name: string): Promise<{ runnerId: number; encoded: string }>;
  deleteRunner(pool: string, id: number): Promise<'deleted' | 'busy' | 'gone'>;
}
