import type { BackendKind, DockerPoolConfig, RunnerLimits, SystemdPoolConfig, ProcessPoolConfig } from '../config/types.js';

export type { BackendKind };

export interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
}

/**
 * Everything a backend needs to run one runner, and nothing more.
 * Paths are host paths; Docker mounts them at the same path inside the container so the
 * runner dir's symlinks into the verified cache resolve identically everywhere.
 */
export interface RunnerSpec {
  name: string;
  pool: string;
  host: string;
  /** Runner root (runners/{name}); the working directory. */
  root: string;
  /** Absolute argv, e.g. [`${root}/bin/Runner.Listener`, 'run']. */
  command: string[];
  /** Clean environment built from config; safe to log. Nothing of the daemon's own env. */
  env: Record<string, string>;
  /** JIT config, registration token, secretEnv values: never logged, never argv, never a world-readable file. */
  secretEnv: Record<string, string>;
  /** Paths the runner must see (runner cache, tools, CA file). */
  mounts: Mount[];
  /** This host's persistent id (reconcile/host-id.ts), recorded on the container or unit. */
  hostId?: string;
  /** Unix user to run as (systemd User=, docker --user, process: only when the daemon is root). */
  user?: string;
  ephemeral: boolean;
  /** Per-runner cgroup limits (pool.limits). */
  limits?: RunnerLimits;
  network: { dns: string[]; extraHosts: Record<string, string>; mode?: string };
  docker?: DockerPoolConfig;
  systemd?: SystemdPoolConfig;
  /** A process pool's process.user section (per-runner users are made by the backend). */
  process?: ProcessPoolConfig;
}

export interface BackendRef {
  name: string;
  /** container id, unit name, or pid */
  ref: string;
}

export type ObservedState = 'starting' | 'running' | 'exited';

export interface ObservedRunner {
  name: string;
  pool: string;
  backend: BackendKind;
  state: ObservedState;
  /** Set when state is 'exited'. null when killed by a signal. */
  exitCode?: number | null;
  /** The signal that killed it, when the engine says (SIGKILL, SIGTERM...). */
  signal?: string | null;
  /** The engine says the kernel's OOM killer ended it (Docker State.OOMKilled, systemd Result=oom-kill, cgroup memory.events). */
  oomKilled?: boolean;
  /** epoch ms */
  startedAt?: number;
  ref: string;
}

export interface RunnerExit {
  name: string;
  exitCode: number | null;
  signal?: string | null;
  at: number;
}

/**
 * create / destroy / list. Idempotent by name; list() is the truth and returns only what this
 * host owns (ownership labels / unit name / pid file), never anything else on the machine.
 */
export interface Backend {
  readonly kind: BackendKind;
  create(spec: RunnerSpec, signal?: AbortSignal): Promise<BackendRef>;
  /** Stops (SIGINT first, then harder after graceMs) and removes. Already gone is fine. */
  destroy(name: string, opts: { graceMs: number }, signal?: AbortSignal): Promise<void>;
  list(signal?: AbortSignal): Promise<ObservedRunner[]>;
  /** Push exits as they happen, when the engine can. Returns an unsubscribe function. */
  watch?(onExit: (e: RunnerExit) => void): () => void;
  /** Recent output of a runner (for `runner-fleet logs`). */
  logs?(name: string, opts: { tail: number }): Promise<string>;
  /** A directory this engine fills besides the data dir (Docker's data root), for host.capacity. */
  dataRoot?(): Promise<string | undefined>;
  /** Is the engine reachable? (doctor, pool health) */
  ping(signal?: AbortSignal): Promise<void>;
  close?(): Promise<void>;
}
