import type { Backend, BackendKind, RunnerExit } from '../backends/types.js';
import type { Clock } from '../clock.js';
import { newRunnerName, runnerLabels, runnerNamePattern, scopeUrl } from '../config/names.js';
import type { FleetConfig, PoolConfig } from '../config/types.js';
import { rememberedScope } from './pool-scopes.js';
import { describeError } from '../errors.js';
import type { RunnerService, Token } from '../github/types.js';
import type { Logger } from '../log.js';
import type { LogArchive } from '../runner/log-archive.js';
import type { RunnerRow, Store } from '../store/types.js';
import { classifyExit, startFailure } from './exits.js';
import { recordExit } from './exit-record.js';
import type { JobQueue } from './jobs.js';
import type { LaunchKit, ReconcileMetrics, Registration, ScaleSetPort } from './kit.js';
import type { PoolRuntime } from './pools.js';
import { registrationOf } from './registration.js';
import { viaScaleSet } from './states.js';
import type { Action, JobHookState } from './types.js';
import { hostLabel, hostOwnership } from './host-id.js';
import type { Failpoint } from '../daemon/failpoints.js';

const GRACE_MS = 30_000;

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

/**
 * Carries out planned actions. Intent is written to the store before acting; each runner has
 * at most one action in flight; one failing action never stops the others.
 */
export class Executor {
  readonly inflight = new Set<string>();
  private readonly pending = new Set<Promise<void>>();
  /** When each runner's last action ended (a sequence, not time): a pass ignores runners it saw mid-change. */
  private seq = 0;
  private readonly endedAt = new Map<string, number>();

  constructor(private readonly deps: ExecutorDeps) {}

  apply(actions: Action[], pass: Pass): void {
    // A reap decides its pool's crash-loop backoff only after reading the runner's hook file
    // (async): a create of the same pool in this batch waits for that verdict, or a runner
    // that cannot start would be replaced at once, every time, with no backoff.
    const verdicts = new Map<string, Promise<void>[]>();
    for (const a of actions) {
      if (a.kind === 'create') {
        const before = verdicts.get(a.pool);
        this.track(before ? Promise.all(before).then(() => this.create(a.pool, pass.targetVersion)) : this.create(a.pool, pass.targetVersion));
      } else if (a.kind === 'mark') this.mark(a.name, a.state);
      else {
        let judged!: () => void;
        const verdict = new Promise<void>((r) => (judged = r));
        if (a.kind === 'reap') verdicts.set(a.pool, [...(verdicts.get(a.pool) ?? []), verdict]);
        this.track(this.run(a, pass, judged).finally(judged));
      }
    }
  }

  /** Taken before a pass observes; see unsettledSince. */
  checkpoint(): number {
    return this.seq;
  }

  /**
   * Runners in flight now, or whose action ended after the checkpoint: the pass's observation of
   * them may predate the change (a pid file not yet written for a runner whose row says idle).
   */
  unsettledSince(checkpoint: number): Set<string> {
    const out = new Set(this.inflight);
    for (const [name, at] of this.endedAt) {
      if (at > checkpoint) out.add(name);
      else this.endedAt.delete(name); // passes are serialised: no later pass needs it
    }
    return out;
  }

  private ended(name: string): void {
    this.inflight.delete(name);
    this.endedAt.set(name, ++this.seq);
  }

  settled(): Promise<void> {
    return Promise.allSettled([...this.pending]).then(() => (this.pending.size ? this.settled() : undefined));
  }

  /** A backend saw a runner exit: remember the code and reconcile now rather than next tick. */
  onExit(e: RunnerExit): void {
    const row = this.deps.store.runners.get(e.name);
    if (!row || row.state === 'gone') return;
    this.deps.store.runners.update(e.name, { lastExitCode: e.exitCode });
    this.deps.retrigger();
  }

  private track(p: Promise<void>): void {
    const q = p.catch((err) => this.deps.logger.error({ err: describeError(err) }, 'action failed'));
    this.pending.add(q);
    void q.finally(() => this.pending.delete(q));
  }

  /** `judged`: called once a reap has told its pool whether the exit counts as a failure. */
  private async run(a: Exclude<Action, { kind: 'create' | 'mark' }>, pass: Pass, judged: () => void): Promise<void> {
    if (this.inflight.has(a.name)) return;
    this.inflight.add(a.name);
    try {
      if (a.kind === 'retire') await this.retire(a.name, a.reason);
      else if (a.kind === 'reap') await this.reap(a, pass.targetVersion, judged);
      else if (a.kind === 'adopt') this.adopt(a.name, a.pool, a.backend);
      else if (a.kind === 'orphan') await this.orphan(a.name, a.backend, a.pool, a.running);
      else if (a.kind === 'ghost') await this.ghost(a.pool, a.githubId, a.name);
    } finally {
      this.ended(a.name);
    }
  }

  private mark(name: string, state: 'idle' | 'busy'): void {
    const row = this.deps.store.runners.update(name, { state, busy: state === 'busy', ...(state === 'busy' ? { ranJob: true } : {}) });
    if (state === 'busy') this.deps.pool(row.pool)?.recordSuccess();
  }

  private async create(poolName: string, version: string | null): Promise<void> {
    const pool = this.deps.pool(poolName);
    // Re-checked here: a reap applied just before in the same batch may have put the pool in backoff.
    if (!pool || !version || !pool.mayCreate(this.deps.clock.now())) return;
    const cfg = pool.cfg;
    const { host } = this.deps.config();
    const name = newRunnerName(host.name, cfg.name);
    // Scale-set runners carry the scale set's labels and no default ones.
    const labels = viaScaleSet(cfg) ? [...cfg.labels] : this.labelsFor(cfg);
    const now = this.deps.clock.now();
    const queuedSince = this.deps.jobs.oldestFor(cfg.name);
    this.inflight.add(name);
    this.deps.store.runners.insert({
      name, pool: cfg.name, backend: cfg.backend, state: 'pending_create', ephemeral: cfg.ephemeral, version,
      githubId: null, labels, busy: false, ranJob: false, jobName: null, createdAt: now, startedAt: null,
      lastExitCode: null, lastError: null, reason: null,
    });
    try {
      this.deps.store.runners.update(name, { state: 'creating' });
      const reg = await this.register(pool, name, labels);
      await this.deps.failpoint?.('create.registered', name);
      const spec = await this.deps.kit.spec(cfg, name, version, reg);
      await this.backend(cfg.backend).create(this.deps.hostId ? { ...spec, hostId: this.deps.hostId } : spec);
      await this.deps.failpoint?.('create.started', name);
      this.deps.store.runners.update(name, { state: 'idle', startedAt: this.deps.clock.now() });
      this.deps.store.events.append({ kind: 'runner.started', runner: name, pool: cfg.name, data: { version, backend: cfg.backend } });
      const since = queuedSince ?? now;
      this.deps.metrics?.scaleUpLatency?.(cfg.name, cfg.backend, (this.deps.clock.now() - since) / 1000);
      this.deps.logger.info({ runner: name, pool: cfg.name, backend: cfg.backend, version }, 'runner started');
    } catch (err) {
      pool.recordFailure(this.deps.clock.now(), err);
      this.deps.logger.error({ runner: name, pool: cfg.name, err: describeError(err) }, 'runner start failed; pool backs off');
      this.deps.store.runners.update(name, { lastError: describeError(err) });
      await this.cleanup(this.deps.store.runners.get(name)!, true).catch(() => undefined);
      this.deps.store.runners.update(name, { state: 'failed' });
    } finally {
      this.ended(name);
    }
  }

  private async register(pool: PoolHandle, name: string, labels: string[]): Promise<Registration> {
    const { cfg, groupId } = pool;
    if (viaScaleSet(cfg) && this.deps.scaleSets) {
      const jit = await this.deps.scaleSets.jitConfig(cfg.name, name);
      this.deps.store.runners.update(name, { githubId: jit.runnerId });
      return { kind: 'jit', encoded: jit.encoded };
    }
    if (cfg.ephemeral) {
      // A pool only plans creates once ready, which is when its group id is known.
      if (groupId === null) throw new Error(`pool ${cfg.name} has no runner group yet`);
      const jit = await this.deps.github.jitConfig(cfg.scope, { name, labels, runnerGroupId: groupId });
      this.deps.store.runners.update(name, { githubId: jit.runnerId });
      return { kind: 'jit', encoded: jit.encoded };
    }
    const token = await this.deps.tokens.get(cfg.scope, 'registration');
    return { kind: 'token', token: token.token, url: scopeUrl(this.deps.config().github.url, cfg.scope), labels, runnerGroup: cfg.runnerGroup };
  }

  /**
   * Busy-safe stop: a hook that says busy keeps it; then GitHub deregistration first — a 422
   * means a job landed since we looked, so it is kept — and only after that the stop.
   */
  private async retire(name: string, reason: string): Promise<void> {
    const row = this.deps.store.runners.get(name);
    if (!row || row.state === 'gone') return;
    this.deps.store.runners.update(name, { state: 'pending_delete', reason });
    // A refused (vandalised) hook file says nothing either way: GitHub's 422 below decides.
    const hook = await this.hook(name);
    if (hook !== 'refused' && hook?.state === 'busy') return this.keepBusy(name, 'job hook says busy');
    // A removed pool's runner too: its scope is remembered, so it is deregistered first as well.
    const pool = this.registrationPool(row.pool);
    if (pool) {
      const id = await registrationOf(this.deps, row, pool, true);
      if (id !== null) {
        const res = await this.deregister(pool.cfg, id);
        if (res === 'busy') return this.keepBusy(name, 'GitHub answered 422: a job landed');
        await this.deps.failpoint?.('retire.deregistered', name);
      }
    }
    this.deps.store.runners.update(name, { state: 'deleting' });
    await this.backend(row.backend).destroy(name, { graceMs: GRACE_MS });
    await this.deps.kit.cleanup(name);
    this.deps.store.runners.update(name, { state: 'gone' });
    this.deps.store.events.append({ kind: 'runner.retired', runner: name, pool: row.pool, data: { reason } });
    this.deps.logger.info({ runner: name, pool: row.pool, reason }, 'runner retired');
    this.deps.retrigger();
  }

  /** Scale-set runners are removed through the Actions service (no REST rate limit); others through REST. */
  private deregister(cfg: Pick<PoolConfig, 'scope'>, id: number): Promise<'deleted' | 'busy' | 'gone'> {
    const ss = this.deps.scaleSets;
    // A removed pool is known by its scope alone: its runners go through REST, which removes any runner.
    const full = 'backend' in cfg ? (cfg as PoolConfig) : undefined;
    return full && viaScaleSet(full) && ss ? ss.deleteRunner(full.name, id) : this.deps.github.deleteRunner(cfg.scope, id);
  }

  private keepBusy(name: string, why: string): void {
    this.deps.store.runners.update(name, { state: 'busy', busy: true, ranJob: true, reason: null });
    this.deps.logger.info({ runner: name, why }, 'stop cancelled: runner is busy');
  }

  /** The job hook state; a file the job made unreadable counts as no answer (the reconciler taints it). */
  private async hook(name: string): Promise<JobHookState | undefined | 'refused'> {
    return this.deps.kit.readHook(name).catch(() => 'refused' as const);
  }

  /** A pool's scope and ownership pattern: from its config, or remembered (a removed pool). */
  private registrationPool(pool: string): { cfg: Pick<PoolConfig, 'scope'>; pattern: RegExp } | undefined {
    const p = this.deps.pool(pool);
    if (p) return p;
    const scope = rememberedScope(this.deps.store, pool);
    return scope ? { cfg: { scope }, pattern: runnerNamePattern(this.deps.config().host.name, pool) } : undefined;
  }

  /**
   * A resource of this host with no row. Exited: removed. Still running (a removed pool's runner,
   * or one whose row was lost): stopped only the way a retire stops it — a busy hook keeps it,
   * then deregistration first, a 422 keeps it — and looked at again next pass.
   */
  private async orphan(name: string, backend: RunnerRow['backend'], poolName: string, running: boolean): Promise<void> {
    if (running) {
      const hook = await this.hook(name);
      if (hook !== 'refused' && hook?.state === 'busy') {
        this.deps.logger.debug({ runner: name, pool: poolName }, 'leftover runner is busy; it is stopped after its job');
        return;
      }
      const pool = this.registrationPool(poolName);
      const found = pool ? (await this.deps.github.listRunners(pool.cfg.scope)).find((g) => g.name === name) : undefined;
      if (pool && found && (await this.deps.github.deleteRunner(pool.cfg.scope, found.id)) === 'busy') {
        this.deps.logger.info({ runner: name, pool: poolName }, 'leftover runner took a job (422); it is stopped after its job');
        return;
      }
    }
    await this.removeResource(name, backend, 'orphan');
  }

  private async reap(a: Extract<Action, { kind: 'reap' }>, targetVersion: string | null, judged: () => void): Promise<void> {
    const { name, exitCode, reason } = a;
    const row = this.deps.store.runners.get(name);
    if (!row || row.state === 'gone') return;
    // A hook file present (or vandalised) means a job ran.
    const ranJob = row.ranJob || (await this.hook(name)) !== undefined;
    const meaning = classifyExit(exitCode, row.ephemeral, ranJob);
    const pool = this.deps.pool(row.pool);
    this.deps.metrics?.runnerRestart?.(row.pool, exitCode);
    if (meaning.versionDeprecated) {
      this.deps.onVersionDeprecated?.();
    }
    // Deprecated with nothing newer known yet: restarting on the same version would loop, so back off.
    const stuck = meaning.versionDeprecated && row.version !== null && row.version === targetVersion;
    if (pool && reason !== 'interrupted-create') {
      const cannotStart = ranJob ? undefined : startFailure(exitCode, name);
      if (cannotStart) pool.recordFailure(this.deps.clock.now(), cannotStart.error, cannotStart.hint);
      else if ((meaning.failure || stuck) && !ranJob) pool.recordFailure(this.deps.clock.now(), `runner ${name} exited: ${meaning.label}`);
      else if (!meaning.failure) pool.recordSuccess();
    }
    judged();
    // Intent first: while the cleanup runs, the next pass must not count this runner towards the
    // pool size, or it would see one too many and retire a healthy idle runner.
    this.deps.store.runners.update(name, { state: 'deleting', lastExitCode: exitCode, ranJob, reason: meaning.label });
    const m = this.deps.metrics;
    await recordExit(
      { ...this.deps, backend: this.deps.backends[row.backend], ...(m?.runnerExit ? { onCause: (p, c) => m.runnerExit!(p, c) } : {}) },
      { ...row, ranJob },
      a,
      meaning,
    );
    await this.cleanup(row, meaning.lookup);
    this.deps.store.runners.update(name, { state: 'gone' });
    this.deps.retrigger();
  }

  /** Registration (if it may remain), backend resource, runner dir. */
  private async cleanup(row: RunnerRow, deregister: boolean): Promise<void> {
    const pool = this.registrationPool(row.pool);
    if (pool && deregister) {
      try {
        // No list call here: a registration not found at once is left to the ghost cleanup.
        const id = await registrationOf(this.deps, row, pool, false);
        if (id !== null) await this.deregister(pool.cfg, id);
      } catch (err) {
        this.deps.logger.warn({ runner: row.name, err: describeError(err) }, 'deregistration failed; ghost cleanup will retry');
      }
    }
    await this.removeResource(row.name, row.backend, 'cleanup');
  }

  private async removeResource(name: string, backend: RunnerRow['backend'], why: string): Promise<void> {
    const b = this.deps.backends[backend];
    if (b) await b.destroy(name, { graceMs: GRACE_MS });
    await this.deps.kit.cleanup(name);
    if (why === 'orphan') this.deps.logger.info({ runner: name, backend }, 'removed orphan resource of this host');
  }

  private adopt(name: string, pool: string, backend: RunnerRow['backend']): void {
    const cfg = this.deps.pool(pool)?.cfg;
    const now = this.deps.clock.now();
    this.deps.store.runners.insert({
      name, pool, backend, state: 'idle', ephemeral: cfg?.ephemeral ?? true, version: null, githubId: null,
      labels: cfg ? this.labelsFor(cfg) : [], busy: false, ranJob: false, jobName: null,
      createdAt: now, startedAt: now, lastExitCode: null, lastError: null, reason: 'adopted',
    });
    this.deps.logger.info({ runner: name, pool, backend }, 'adopted running runner');
  }

  /** Re-check a ghost with GET before deleting it: the list may be minutes old. */
  private async ghost(poolName: string, id: number, name: string): Promise<void> {
    const pool = this.deps.pool(poolName);
    if (!pool) return;
    const g = await this.deps.github.getRunner(pool.cfg.scope, id);
    if (!g || g.name !== name || g.status !== 'offline' || g.busy || !pool.pattern.test(g.name)) return;
    if (this.deps.hostId && hostOwnership(g.labels, hostLabel(this.deps.hostId)) === 'other') return;
    const res = await this.deregister(pool.cfg, id);
    this.deps.logger.info({ runner: name, pool: poolName, result: res }, 'removed stale registration');
  }

  /** The pool's labels plus this host's id label. */
  private labelsFor(cfg: PoolConfig): string[] {
    const labels = runnerLabels(cfg, this.deps.arch);
    return this.deps.hostId ? [...labels, hostLabel(this.deps.hostId)] : labels;
  }

  private backend(kind: RunnerRow['backend']) {
    const b = this.deps.backends[kind];
    if (!b) throw new Error(`backend ${kind} is not available on this host`);
    return b;
  }
}
