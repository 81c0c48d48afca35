import type { Clock } from '../clock.js';
import type { PoolConfig } from '../config/types.js';
import { moduleOf } from '../backends/index.js';
import { runnerNamePattern } from '../config/names.js';
import { describeError, diskFullError, FleetError } from '../errors.js';
import type { RunnerService } from '../github/types.js';
import { backoffMs } from './exits.js';
import { runnerCpus } from './capacity.js';
import type { PoolView } from './types.js';

/**
 * A pool's runtime: what it takes from GitHub once (runner group id, public-repo guard),
 * its crash-loop backoff and its drain flag. A broken pool is reported and retried; it never
 * stops the others.
 */
export class PoolRuntime {
  /** What to check, when the error has a likely cause (e.g. a runner that cannot start). */
  #hint: string | null = null;
  /** What the host is short of for this pool (host.capacity floors), or null. */
  #capacity: string | null = null;
  /** The CPU budget keeps this pool from starting the runners it wants: the figure, or null. */
  #cpuHeld: string | null = null;
  readonly pattern: RegExp;
  // Written only through the methods below: the reconciler owns this state, the executor reports
  // outcomes through recordFailure / recordSuccess, status reads the getters.
  #cfg: PoolConfig;
  #groupId: number | null = null;
  #error: string | null = null;
  #errorCode: string | null = null;
  #failures = 0;
  #notBefore = 0;
  #draining = false;
  #initFailures = 0;
  #initNotBefore = 0;
  #exposed = false;
  #nextCheckAt = 0;
  /** GitHub refused the credentials at the last runner list of this pool's scope (GITHUB_AUTH). */
  #refused: { error: string; code: string } | null = null;

  constructor(cfg: PoolConfig, host: string) {
    this.#cfg = cfg;
    this.pattern = runnerNamePattern(host, cfg.name);
  }

  get cfg(): PoolConfig {
    return this.#cfg;
  }
  get groupId(): number | null {
    return this.#groupId;
  }
  get error(): string | null {
    return this.#error ?? this.#refused?.error ?? null;
  }
  get errorCode(): string | null {
    return this.#errorCode ?? this.#refused?.code ?? null;
  }
  get hint(): string | null {
    return this.#hint;
  }
  /** Why the host keeps this pool from starting runners (a floor, else the CPU budget), or null. */
  get capacity(): string | null {
    return this.#capacity ?? this.#cpuHeld;
  }
  get floorShort(): string | null {
    return this.#capacity;
  }
  get cpuHeld(): string | null {
    return this.#cpuHeld;
  }
  /** The host's capacity check for this pool: what is short, or null when every floor is met. */
  setCapacity(short: string | null): void {
    this.#capacity = short;
  }
  /** The last plan's CPU admission for this pool: why it started fewer runners than it wants, or null. */
  setCpuHeld(why: string | null): void {
    this.#cpuHeld = why;
  }
  get failures(): number {
    return this.#failures;
  }
  get draining(): boolean {
    return this.#draining;
  }
  /**
   * A re-check found the repository public (or the group open to public repositories): no new
   * runners, idle ones retire, busy ones finish, until a re-check finds it closed again.
   */
  get exposed(): boolean {
    return this.#exposed;
  }
  get healthy(): boolean {
    return this.ready && !this.#exposed && this.#failures === 0 && !this.#refused;
  }

  /**
   * The outcome of the last runner list on this pool's scope: refused credentials make the pool
   * unhealthy (it could neither replace nor deregister a runner) until a list succeeds again;
   * other failures (a GitHub hiccup) change nothing.
   */
  noteGitHubList(err?: unknown): void {
    if (err === undefined) this.#refused = null;
    else if (err instanceof FleetError && err.code === 'GITHUB_AUTH') this.#refused = { error: describeError(err), code: err.code };
  }

  /** Re-check at the next pass (a delivery said the repository is public). */
  recheckSoon(): void {
    this.#nextCheckAt = 0;
  }

  /** A reloaded config for the same pool (same scope and group). Clears a drain; the reconciler re-applies an operator's (DrainHold). */
  reconfigure(cfg: PoolConfig): void {
    this.#cfg = cfg;
    this.#draining = false;
  }

  /** Lifted by `runner-fleet undrain` (the reconciler keeps the operator's drains). */
  undrain(): void {
    this.#draining = false;
  }

  /** Stop starting runners; idle ones retire, busy ones finish. */
  drain(): void {
    this.#draining = true;
  }

  /** May start a runner now (not draining, not exposed, not backing off). */
  mayCreate(now: number): boolean {
    return !this.#draining && !this.#exposed && now >= this.#notBefore;
  }

  get ready(): boolean {
    return this.#groupId !== null;
  }

  /**
   * Resolve the runner group and refuse public repositories unless allowed; once ready, the same
   * checks re-run every `recheckMs` (conditional requests: free while nothing changed).
   */
  async init(github: RunnerService, clock: Clock, recheckMs = 600_000): Promise<void> {
    if (this.ready && !rootRefusal(this.#cfg)) return this.recheck(github, clock, recheckMs);
    if (clock.now() < this.#initNotBefore) return;
    try {
      this.#groupId = await this.verify(github);
      this.#error = null;
      this.#errorCode = null;
      this.#hint = null;
      this.#initFailures = 0;
      this.#nextCheckAt = clock.now() + recheckMs;
    } catch (err) {
      this.#groupId = null;
      this.#initFailures++;
      this.#initNotBefore = clock.now() + backoffMs(this.#initFailures);
      this.#error = describeError(err);
      this.#errorCode = err instanceof FleetError ? err.code : 'GITHUB_REQUEST';
      this.#hint = null;
      throw err;
    }
  }

  private async recheck(github: RunnerService, clock: Clock, everyMs: number): Promise<void> {
    if (clock.now() < this.#nextCheckAt) return;
    this.#nextCheckAt = clock.now() + everyMs;
    try {
      await this.verify(github);
      if (this.#exposed) {
        this.#exposed = false;
        this.#error = null;
        this.#errorCode = null;
      }
    } catch (err) {
      // Only a refusal stops the pool; a GitHub hiccup leaves it as it was until the next check.
      if (err instanceof FleetError && err.code === 'PUBLIC_REPO_REFUSED') {
        this.#exposed = true;
        this.#error = describeError(err);
        this.#errorCode = err.code;
        this.#hint = null;
      }
      throw err;
    }
  }

  /** The group id, or PUBLIC_REPO_REFUSED. */
  private async verify(github: RunnerService): Promise<number> {
    const root = rootRefusal(this.cfg);
    if (root) throw new FleetError('RUNNER_AS_ROOT', root);
    await this.checkPublic(github);
    const group = await github.runnerGroup(this.cfg.scope, this.cfg.runnerGroup);
    if (group.allowsPublicRepositories && !this.cfg.allowPublicRepos && this.cfg.scope.kind !== 'repo') {
      throw new FleetError(
        'PUBLIC_REPO_REFUSED',
        `runner group "${group.name}" allows public repositories; set allowPublicRepos: true on pool ${this.cfg.name} to accept that risk`,
      );
    }
    return group.id;
  }

  private async checkPublic(github: RunnerService): Promise<void> {
    const s = this.cfg.scope;
    if (s.kind !== 'repo' || this.cfg.allowPublicRepos) return;
    const visibility = await github.repoVisibility(s.owner, s.repo);
    if (visibility === 'public') {
      throw new FleetError(
        'PUBLIC_REPO_REFUSED',
        `${s.owner}/${s.repo} is public: anyone can run code on this host through a pull request; set allowPublicRepos: true on pool ${this.cfg.name} to accept that risk`,
      );
    }
  }

  recordFailure(now: number, err?: unknown, hint?: string): void {
    this.#failures++;
    this.#notBefore = now + backoffMs(this.#failures);
    if (err !== undefined) {
      // A bare ENOSPC (writing a runner dir, a unit file) still names the cause.
      const full = err instanceof FleetError ? undefined : diskFullError(err, 'writing');
      this.#error = describeError(full ?? err);
      this.#errorCode = err instanceof FleetError ? err.code : (full?.code ?? null);
      this.#hint = hint ?? null;
    }
  }

  recordSuccess(): void {
    this.#failures = 0;
    this.#notBefore = 0;
    if (this.ready && !this.#exposed) {
      this.#error = null;
      this.#errorCode = null;
      this.#hint = null;
    }
  }

  /** `scaleSet`: for scale-set pools, the assigned jobs and whether the scale set is ready for JIT configs. */
  view(now: number, targetVersion: string | null, queuedJobs: number, scaleSet?: { assigned: number; ready: boolean }): PoolView {
    const c = this.cfg;
    return {
      name: c.name,
      backend: c.backend,
      ephemeral: c.ephemeral,
      ...(c.size !== undefined ? { size: c.size } : { scale: c.scale }),
      targetVersion,
      canCreate: this.ready && this.mayCreate(now) && targetVersion !== null && (scaleSet?.ready ?? true),
      ...(this.#capacity ? { hostCapacity: this.#capacity } : {}),
      ...(runnerCpus(c) !== undefined ? { cpus: runnerCpus(c) } : {}),
      draining: this.#draining || this.#exposed,
      queuedJobs,
      ...(scaleSet ? { assignedJobs: scaleSet.assigned } : {}),
      namePattern: this.pattern,
    };
  }
}

/**
 * Contract §6: runners run as root only when the pool's env says so (RUNNER_ALLOW_RUNASROOT).
 * The runner checks that itself in config.sh and run-helper.sh, which a JIT runner never runs
 * (the daemon starts its Listener directly), so for those the daemon refuses the pool.
 */
export function rootRefusal(cfg: PoolConfig): string | undefined {
  if (!cfg.ephemeral || cfg.env.RUNNER_ALLOW_RUNASROOT) return undefined;
  if (!moduleOf(cfg.backend).runsAsRoot?.(cfg)) return undefined;
  return `runners of pool ${cfg.name} would run as root: set RUNNER_ALLOW_RUNASROOT: "1" in its env to allow that, or give it a user (process.user / systemd.user)`;
}
