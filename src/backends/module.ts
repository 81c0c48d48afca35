import type { Clock } from '../clock.js';
import type { BackendKind, BackendSettings, FleetConfig, PoolOf } from '../config/types.js';
import type { Check, CheckResult, DoctorContext } from '../doctor/types.js';
import type { Failpoint } from '../daemon/failpoints.js';
import type { Logger } from '../log.js';
import type { CgroupPaths } from './process/cgroup.js';

/** Where host facts are read for validation (tests point them at a fake layout). */
export interface HostProbePaths {
  cgroups?: CgroupPaths;
}
import type { DockerPlan } from './docker/plan.js';
import type { ProcessPlan } from './process/plan.js';
import type { SystemdPlan } from './systemd/plan.js';
import type { Backend, RunnerSpec } from './types.js';

/** systemd/runner-fleet.service.d/{name}.conf, installed by install-service when a pool needs it. */
export type DaemonDropIn = 'systemd-backend' | 'process-user';
export const DAEMON_DROP_INS: readonly DaemonDropIn[] = ['systemd-backend', 'process-user'];

/** What `plan` prints for a pool's backend. */
export type BackendPlan = DockerPlan | SystemdPlan | ProcessPlan;

/** A backend's own section of a pool, as the schema produced it (`pools[].docker` for docker). */
export type SectionOf<K extends BackendKind> = K extends unknown ? NonNullable<VariantOf<K>[K & keyof VariantOf<K>]> : never;
type VariantOf<K extends BackendKind> = Extract<BackendSettings, { backend: K }>;

/** The raw (interpolated, unvalidated) YAML of one pool, for the config cross-checks. */
export type RawPool = Record<string, unknown>;

/** The parts of a runner's spec that depend on its backend. */
export type SpecParts = Pick<RunnerSpec, 'user' | 'docker' | 'systemd' | 'process'> & { networkMode?: string };

/**
 * Everything the rest of the program knows about one backend kind. The engine itself loads
 * lazily in create(): a host without docker pools never loads dockerode.
 * Methods (not function properties) so each module can take its own pool variant.
 */
export interface BackendModule<K extends BackendKind = BackendKind> {
  readonly kind: K;

  // --- config
  /** What a pool of this backend must set (e.g. "docker.image"); none when its section is optional. */
  readonly requires?: string;
  /** The schema's section → this backend's variant; undefined when a required section is missing. */
  settings(section: SectionOf<K> | undefined): Extract<BackendSettings, { backend: K }> | undefined;
  /** Why this pool's runners cannot get dns / extraHosts, or undefined when they can. */
  cannotApplyHostEntries(raw: RawPool): string | undefined;
  /** A per-runner CPU limit set in the backend's own section (docker.cpus); `limits.cpus` wins over it. */
  sectionCpus?(section: Record<string, unknown> | undefined): number | undefined;
  /** Why this backend cannot enforce these `limits` (raw YAML) on this host, or undefined when it can. */
  cannotApplyLimits?(limits: Record<string, unknown>, host: HostProbePaths): string | undefined;

  // --- runtime
  /** `failpoint`: crash tests park a two-step create between its steps (daemon/failpoints.ts). */
  create(deps: { cfg: FleetConfig; logger: Logger; clock?: Clock; failpoint?: Failpoint }): Promise<Backend>;
  /** The backend-specific part of a runner's spec. */
  specParts(pool: PoolOf<K>): SpecParts;
  /** uid/gid that must own the runner root, when the runner runs as another known user. */
  runnerOwner(pool: PoolOf<K>): { uid: number; gid: number } | undefined;
  /**
   * How the shared runner files reach a runner root: `links` (hard links to read-only files the
   * daemon's user owns; host backends) or `mounts` (bound read-only over empty mount points;
   * containers, where a root job could write through any hard link).
   */
  readonly sharedRunnerFiles: 'links' | 'mounts';
  /** Runs as someone other than root/the daemon: the data dir must be traversable. */
  runsAsOtherUser(pool: PoolOf<K>): boolean;
  /** Its runners would run as uid 0 on the host (absent: they never do, e.g. in a container). */
  runsAsRoot?(pool: PoolOf<K>): boolean;
  /** The name of the engine object (container, unit...) that runs a runner. */
  resourceName(runnerName: string): string;

  // --- plan, doctor, install-service
  plan(pool: PoolOf<K>, exampleRunner: string): { backend: Extract<BackendPlan, { kind: K }>; warnings: string[] };
  /** The plan's backend rows as `plan` prints them: [label, text]. */
  planRows(plan: Extract<BackendPlan, { kind: K }>): Array<[string, string]>;
  /** Runners use the host's network stack (doctor probes their endpoints from the host). */
  readonly hostNetwork: boolean;
  readonly doctor: {
    /** Sets up what the checks need (e.g. an engine client). */
    prepare?(ctx: DoctorContext): Promise<void>;
    /** Engine reachable, images present...; row id is the kind. */
    engine?: Check;
    /** Endpoint checks run the way this backend's runners reach them. */
    network?: { id: string; run: Check };
    /**
     * What a job of this pool can reach beyond its own runner (README "Security model"), as
     * rows named `name`; none when there is nothing to call out.
     */
    isolation?(pool: PoolOf<K>, ctx: DoctorContext, name: string): CheckResult[];
  };
  /**
   * The drop-in the daemon's own unit needs for this pool (it must be root to manage units or
   * switch users), or undefined. Takes the raw pool so install-service can decide before the
   * config validates; a typed pool has the same keys.
   */
  daemonDropIn(pool: RawPool): DaemonDropIn | undefined;
}
