import type { PoolConfig } from '../config/types.js';
import type { RunnerSpec } from '../backends/types.js';
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
  readHook(name: string): JobHookState | undefined;
  /** The registration id the runner wrote into its own `.runner` (agentId), if any. */
  registrationId?(name: string): number | undefined;
}

/** Per-event hooks for metrics; every method optional so tests can pass {}. */
export interface ReconcileMetrics {
  reconcileDuration?(seconds: number): void;
  scaleUpLatency?(pool: string, backend: string, seconds: number): void;
  runnerRestart?(pool: string, exitCode: number | null): void;
  job?(pool: string, conclusion: string): void;
  runners?(counts: { pool: string; state: string; count: number }[]): void;
  poolHealthy?(pool: string, healthy: boolean): void;
}
