import type { Backend, BackendKind } from '../backends/types.js';
import type { FleetConfig } from '../config/types.js';
import { describeError } from '../errors.js';
import type { Failpoint } from '../daemon/failpoints.js';
import type { JobMessage } from '../github/scaleset/types.js';
import type { CapacityFigure } from './capacity.js';
import { listBackends } from './backend-list.js';
import { DrainHold } from './drain-hold.js';
import { Executor, type ExecutorDeps } from './executor.js';
import { GitHubView } from './github-view.js';
import { HookFiles } from './hook-files.js';
import { HostGuard } from './host-guard.js';
import { hostLabel } from './host-id.js';
import { JobQueue } from './jobs.js';
import type { ScaleSetPort } from './kit.js';
import { planPass } from './planner.js';
import { reportCounts } from './pool-report.js';
import { initPools } from './pool-init.js';
import { PoolRuntime } from './pools.js';
import { recordScaleSetJob, scaleSetDemand } from './scaleset.js';
import { isPresent } from './states.js';
import type { Observation } from './types.js';
import { applyWorkflowJob, type WorkflowJobLike } from './workflow-jobs.js';

export type { WorkflowJobLike } from './workflow-jobs.js';

/** The executor's deps, minus what the reconciler itself provides (pools, config, job queue). */
export interface ReconcilerDeps extends Omit<ExecutorDeps, 'config' | 'pool' | 'jobs' | 'retrigger'> {
  /** The config at start; updateConfig() swaps it. */
  config: FleetConfig;
  /** Reads host.capacity figures (disk, memory) each pass; without it nothing is held back. */
  capacity?: () => Promise<CapacityFigure[]>;
  /** How often GitHub's runner list is read (conditional; 304s are free). Default 120 s. */
  githubListIntervalMs?: number;
  /** How often a ready pool's public-repository and runner-group checks re-run (conditional requests). Default 10 min. */
  exposureCheckIntervalMs?: number;
  /** Crash tests: parks an action between its two steps. */
  failpoint?: Failpoint;
  /** This host's persistent id (host-id.ts): labels our registrations, guards ghost cleanup. */
  hostId?: string;
  /** scale.via: scaleset pools: demand, JIT configs and deregistration through their scale sets. */
  scaleSets?: ScaleSetPort;
}

/**
 * observe → plan → apply, on a timer, on backend exits and on webhook deliveries.
 * Runs are serialised; a trigger during a run schedules exactly one more.
 */
export class Reconciler {
  readonly jobs: JobQueue;
  private cfg: FleetConfig;
  private poolMap = new Map<string, PoolRuntime>();
  private target: string | null = null;
  lastReconcileAt: number | null = null;
  private readonly exec: Executor;
  private readonly gh: GitHubView;
  private running: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private unwatch: (() => void)[] = [];
  private stopped = false;
  private readonly hookFiles: HookFiles;
  /** `runner-fleet drain`'s intent, persisted: a reload or restart keeps a drained pool drained. */
  readonly hold: DrainHold;
  private started = false;
  private readonly host: HostGuard;

  constructor(private readonly deps: ReconcilerDeps) {
    this.cfg = deps.config;
    this.jobs = new JobQueue(deps.clock);
    this.hookFiles = new HookFiles({ kit: deps.kit, jobs: this.jobs, store: deps.store, logger: deps.logger });
    this.host = new HostGuard(deps, () => this.poolMap.values(), () => this.cfg.host.capacity);
    this.hold = new DrainHold(deps.store.meta);
    this.gh = new GitHubView(deps);
    for (const p of this.cfg.pools) this.poolMap.set(p.name, this.newPool(p));
    const { store, github, tokens, backends, kit, clock, logger, arch, metrics, onVersionDeprecated, logArchive, scaleSets } = deps;
    this.exec = new Executor({
      store, github, tokens, backends, kit, clock, logger, arch,
      ...(metrics ? { metrics } : {}),
      ...(logArchive ? { logArchive } : {}),
      ...(onVersionDeprecated ? { onVersionDeprecated } : {}),
      ...(deps.failpoint ? { failpoint: deps.failpoint } : {}),
      ...(deps.hostId ? { hostId: deps.hostId } : {}),
      ...(scaleSets ? { scaleSets } : {}),
      config: () => this.cfg,
      pool: (name) => this.poolMap.get(name),
      jobs: this.jobs,
      retrigger: () => void this.trigger(),
    });
  }

  /** Per pool: registrations matching our names that carry another host's id (status). */
  get foreign(): ReadonlyMap<string, string[]> {
    return this.gh.foreign;
  }

  /** Each pool's runtime state (read-only outside: status, tests). */
  get pools(): ReadonlyMap<string, PoolRuntime> {
    return this.poolMap;
  }

  /** Runner version new runners get. */
  get targetVersion(): string | null {
    return this.target;
  }

  /** A new version is a fresh start for pools held back by failures (an exit 7 loop above all). */
  setTargetVersion(v: string | null): void {
    if (this.target !== null && v !== this.target) for (const p of this.poolMap.values()) p.recordSuccess();
    this.target = v;
  }

  get config(): FleetConfig {
    return this.cfg;
  }

  /** Swap in a reloaded config: new pools start, removed pools' idle runners retire. */
  updateConfig(cfg: FleetConfig): void {
    this.cfg = cfg;
    const next = new Map<string, PoolRuntime>();
    for (const p of cfg.pools) {
      const cur = this.poolMap.get(p.name);
      if (cur && JSON.stringify(cur.cfg.scope) === JSON.stringify(p.scope) && cur.cfg.runnerGroup === p.runnerGroup) {
        cur.reconfigure(p);
        // Only `runner-fleet undrain` lifts an operator's drain; a reload does not.
        if (this.hold.has(p.name)) cur.drain();
        next.set(p.name, cur);
      } else next.set(p.name, this.newPool(p));
    }
    this.poolMap = next;
    this.trigger();
  }

  /** A backend a reloaded config needs (a pool of a new kind). */
  addBackend(kind: BackendKind, b: Backend): void {
    this.deps.backends[kind] = b;
    if (this.started) this.watch(b);
  }

  private watch(b: Backend | undefined): void {
    const off = b?.watch?.((e) => this.exec.onExit(e));
    if (off) this.unwatch.push(off);
  }

  start(): void {
    this.started = true;
    for (const b of Object.values(this.deps.backends)) this.watch(b);
    const tick = () => {
      if (this.stopped) return;
      this.trigger();
      this.timer = setTimeout(tick, this.cfg.reconcile.intervalMs);
      this.timer.unref?.();
    };
    tick();
  }

  /** Ask for a reconcile as soon as possible; coalesces. Resolves when a run that saw the trigger ends. */
  trigger(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.reconcileOnce().catch((err) => this.deps.logger.error({ err: describeError(err) }, 'reconcile failed'));
      } while (this.again && !this.stopped);
      this.running = null;
    })();
    return this.running;
  }

  /** One full pass. Exposed for tests. */
  async reconcileOnce(): Promise<void> {
    const t0 = performance.now();
    const checkpoint = this.exec.checkpoint();
    await initPools(this.deps, this.poolMap.values());
    this.deps.scaleSets?.syncPools([...this.poolMap.values()].filter((p) => p.ready).map((p) => p.cfg));
    const obs = await this.observe();
    const { actions, ...held } = planPass(obs, this.exec.unsettledSince(checkpoint));
    this.host.afterPlan(held);
    if (actions.length) this.deps.logger.debug({ actions }, 'plan');
    this.exec.apply(actions, { targetVersion: this.target });
    this.lastReconcileAt = this.deps.clock.now();
    // History rows are kept a day for status and post-mortems, then dropped.
    this.deps.store.runners.purgeGone(this.lastReconcileAt - 86_400_000);
    this.deps.metrics?.reconcileDuration?.((performance.now() - t0) / 1000);
    reportCounts(this.deps, this.poolMap.values(), this.jobs);
  }

  /** Resolves when every action started so far has finished (tests, shutdown). */
  settled(): Promise<void> {
    return this.exec.settled();
  }

  private async observe(): Promise<Observation> {
    const now = this.deps.clock.now();
    const { observed, unavailable } = await listBackends(this.deps.backends, this.deps.logger);
    const rows = this.deps.store.runners.list();
    const { hooks, tainted } = await this.hookFiles.read(rows);
    await this.gh.refresh(now, this.poolMap.values());
    await this.host.check();
    const pools = [...this.poolMap.values()].map((p) =>
      p.view(now, this.targetVersion, this.jobs.queuedFor(p.cfg.name), scaleSetDemand(this.deps.scaleSets, p, this.deps.store)),
    );
    const hostLabelOf = this.deps.hostId ? { hostLabel: hostLabel(this.deps.hostId) } : {};
    return { now, host: this.cfg.host.name, pools, rows, observed, unavailable, github: this.gh.lists, hooks, tainted, ...hostLabelOf, ...this.host.cpuObservation() };
  }

  /** Force the next run to re-read GitHub (after a version-deprecated exit, a webhook for an unknown runner...). */
  invalidateGitHub(): void {
    this.gh.invalidate();
  }

  /**
   * A workflow_job delivery: `queued` starts a runner at once; `in_progress`/`completed` update
   * busy state and job metrics (workflow-jobs.ts).
   */
  onWorkflowJob(e: WorkflowJobLike): void {
    if (applyWorkflowJob(this.deps, [...this.poolMap.values()], this.jobs, e)) void this.trigger();
  }

  /** A scale set's JobStarted/JobCompleted, recorded before its message is acknowledged. */
  onScaleSetJob(pool: string, job: JobMessage): void {
    recordScaleSetJob(this.deps.store, this.deps.metrics, pool, job);
  }

  private newPool(p: FleetConfig['pools'][number]): PoolRuntime {
    const rt = new PoolRuntime(p, this.cfg.host.name);
    if (this.hold.has(p.name)) rt.drain();
    return rt;
  }

  /**
   * Stop starting runners in the given pool (or all); idle ones retire, busy ones finish.
   * `hold`: an operator's drain, kept until undrain (a shutdown's drain is not).
   */
  drain(pool?: string, opts: { hold?: boolean } = {}): void {
    if (opts.hold) this.hold.drain(pool);
    for (const p of this.poolMap.values()) if (!pool || p.cfg.name === pool) p.drain();
    this.trigger();
  }

  /** Jobs queued for the pool that no runner has taken yet. */
  queuedFor(pool: string): number {
    return this.jobs.queuedFor(pool);
  }

  /** Lift an operator's drain on one pool (or all): runners start again. */
  undrain(pool?: string): void {
    this.hold.undrain(pool, [...this.poolMap.keys()]);
    for (const p of this.poolMap.values()) if (!this.hold.has(p.cfg.name)) p.undrain();
    this.trigger();
  }

  /** Runners still holding a backend resource in the pool (or all). */
  liveCount(pool?: string): number {
    return this.deps.store.runners.list({ ...(pool ? { pool } : {}) }).filter(isPresent).length;
  }

  /** Drain and wait until nothing is left or the timeout passes; busy runners are never killed. */
  async drainAndWait(timeoutMs: number, pool?: string): Promise<boolean> {
    this.drain(pool);
    const deadline = this.deps.clock.now() + timeoutMs;
    for (;;) {
      // Nothing to drain ends at once: no pass (and no GitHub call) to wait for.
      if (this.liveCount(pool) === 0) return true;
      await this.trigger();
      await this.settled();
      if (this.liveCount(pool) === 0) return true;
      if (this.deps.clock.now() >= deadline) return false;
      await this.deps.clock.sleep(Math.min(1000, this.cfg.reconcile.intervalMs));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const off of this.unwatch) off();
    await this.running;
    await this.settled();
  }
}
