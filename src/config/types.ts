/**
 * The validated, normalized configuration. Everything downstream reads this shape only;
 * the YAML schema (schema.ts) and loader (load.ts) turn a file into it.
 * Durations are milliseconds, secrets are resolved values (never paths), lists are never undefined.
 */
export type Scope =
  | { kind: 'org'; org: string }
  | { kind: 'repo'; owner: string; repo: string }
  | { kind: 'enterprise'; enterprise: string };

export type GitHubAuth =
  | { kind: 'token'; token: string }
  | { kind: 'app'; appId: number; installationId: number; privateKey: string };

export interface NetworkConfig {
  proxy?: { http?: string; https?: string; noProxy?: string };
  caFile?: string;
  dns: string[];
  extraHosts: Record<string, string>;
  checks: string[]; // "host:port"
}

export interface ToolConfig {
  name: string;
  version: string;
  url: string; // template with {version} {os} {arch}
  sha256?: string; // hex; exactly one of sha256 / checksumUrl
  checksumUrl?: string;
  archive?: 'auto' | 'none' | 'tar.gz' | 'zip';
  /** Path of the binary inside an archive (template allowed); default: the tool's name. */
  binary?: string;
  /** Our arch names (x64, arm64, arm) mapped to the tool's spelling; default x64→amd64, arm64→arm64. */
  archMap?: Record<string, string>;
  /** e.g. ["version", "--client"]; output recorded at install. */
  versionCommand?: string[];
}

export interface DockerPoolConfig {
  image: string;
  runnerFrom: 'cache' | 'image';
  network?: string;
  cpus?: number;
  memory?: string; // docker syntax: 4g, 512m
  user?: string;
  privileged: boolean;
  dockerSocket: boolean;
  /** Leave no-new-privileges off: a non-root container user may sudo to the container's root (capabilities stay reduced). */
  sudo?: boolean;
  /** Runner root inside the image when runnerFrom: image (official image: /home/runner). */
  imageRunnerDir: string;
  pull: 'missing' | 'always' | 'never';
}

export interface SystemdPoolConfig {
  user: string;
  group?: string;
  /** per-runner (default): each runner its own system user in the pool's group; shared: all run as `user`. */
  isolation?: 'per-runner' | 'shared';
  /** NoNewPrivileges off and the capability set kept: jobs may use sudo, i.e. become root on the host. */
  sudo?: boolean;
}

/** What a systemd pool without `isolation` gets. */
export const DEFAULT_SYSTEMD_ISOLATION = 'per-runner' as const;

/** Settings of a process pool: the user its runners and jobs run as (else the daemon's own). */
export interface ProcessPoolConfig {
  user: string;
  group?: string;
  /** per-runner (default): each runner its own system user in `user`'s groups; shared: all run as `user`. */
  isolation?: 'per-runner' | 'shared';
}

/** What a process pool with `process.user` and without `isolation` gets (as systemd pools). */
export const DEFAULT_PROCESS_ISOLATION = 'per-runner' as const;

export interface ScaleConfig {
  minIdle: number;
  max: number;
  idleTimeoutMs: number;
  /**
   * webhook: demand comes from workflow_job deliveries. scaleset: the pool is the GitHub runner
   * scale set `{host}-{pool}`; demand comes from its message queue (outbound HTTPS only).
   * Absent means webhook.
   */
  via?: 'webhook' | 'scaleset';
}

/** A pool has a fixed size or scales with demand, never both. */
export type Sizing = { size: number; scale?: undefined } | { size?: undefined; scale: ScaleConfig };

/**
 * Each backend's variant carries its own settings, under the key named like the backend.
 * Adding a backend adds a variant here; the compiler then finds every place that must handle it.
 */
export type BackendSettings =
  | { backend: 'docker'; docker: DockerPoolConfig }
  | { backend: 'systemd'; systemd: SystemdPoolConfig }
  | { backend: 'process'; process?: ProcessPoolConfig };

export type BackendKind = BackendSettings['backend'];

/** Per-runner resource limits (cgroups), applied by every backend that can. */
export interface RunnerLimits {
  cpus?: number;
  /** bytes */
  memory?: number;
  pids?: number;
}

export interface PoolCommon {
  name: string;
  scope: Scope;
  runnerGroup: string;
  /** The pool's own labels, without the defaults. */
  labels: string[];
  ephemeral: boolean;
  allowPublicRepos: boolean;
  env: Record<string, string>;
  /** Env name → file path; values are read when a runner starts, never logged. */
  secretEnv: Record<string, string>;
  /** The global network section with this pool's overrides applied. */
  network: NetworkConfig;
  limits?: RunnerLimits;
  /** Per-runner CPU limit as the backend applies it (limits.cpus, else its own: docker.cpus); set by the loader. */
  cpusPerRunner?: number;
}

export type PoolConfig = PoolCommon & Sizing & BackendSettings;

/** The pools of one backend, with that backend's settings known to be present. */
export type PoolOf<K extends BackendKind> = Extract<PoolConfig, { backend: K }>;

/** host.capacity in bytes: below a floor no new runner starts (0 turns a floor off). */
export interface HostCapacityConfig {
  minFreeDisk: number;
  minFreeMemory: number;
  /**
   * CPU budget: the per-runner CPU limits of the runners that exist, plus the next one, may not
   * exceed it. `auto`: the host's CPU count. Unset (the default): no budget.
   */
  cpus?: number | 'auto';
}

export const DEFAULT_CAPACITY: HostCapacityConfig = { minFreeDisk: 5 * 1024 ** 3, minFreeMemory: 512 * 1024 ** 2 };

export interface FleetConfig {
  /** Absolute path of the file this came from. */
  source: string;
  /** capacity is always set by the loader; optional only so partial configs in tests and tools type-check. */
  host: { name: string; dataDir: string; capacity?: HostCapacityConfig };
  github: { url: string; apiUrl: string; auth: GitHubAuth };
  runner: { version: string; url?: string; sha256?: string; updateSchedule: string };
  tokens: { refreshSchedule: string };
  tools: ToolConfig[];
  network: NetworkConfig;
  api: { listen: { host: string; port: number }; token?: string; webhookSecret?: string };
  reconcile: { intervalMs: number };
  shutdown: { mode: 'drain' | 'keep'; drainTimeoutMs: number };
  pools: PoolConfig[];
}

/** One problem found in a config file, located for `FILE:LINE:COL: path: message`. */
export interface ConfigIssue {
  file: string;
  line: number;
  col: number;
  path: string; // dotted: pools[1].scope
  message: string;
}
