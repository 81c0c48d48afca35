import type { RunnerExit } from '../backends/types.js';
import { newRunnerName, runnerLabels, scopeUrl } from '../config/names.js';
import type { PoolConfig } from '../config/types.js';
import { describeError } from '../errors.js';
import { classifyExit, startFailure } from './exits.js';
import type { ExecutorDeps, Pass, PoolHandle } from './executor-deps.js';
import { recordExit } from './exit-record.js';
import { hostLabel } from './host-id.js';
import type { Registration } from './kit.js';
import type { RunnerRow } from '../store/types.js';
import { viaScaleSet } from './states.js';
import { cleanup, ghost, hookState, orphan, requireBackend, retire } from './teardown.js';
import type { Action } from './types.js';

export type { ExecutorDeps, Pass, PoolHandle } from './executor-deps.js';

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
      if (a.kind === 'retire') await retire(this.deps, a.name, a.reason);
      else if (a.kind === 'reap') await this.reap(a, pass.targetVersion, judged);
      else if (a.kind === 'adopt') this.adopt(a.name, a.pool, a.backend);
      else if (a.kind === 'orphan') await orphan(this.deps, a.name, a.backend, a.pool, a.running);
      else if (a.kind === 'ghost') await ghost(this.deps, a.pool, a.githubId, a.name);
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
      await requireBackend(this.deps, cfg.backend).create(this.deps.hostId ? { ...spec, hostId: this.deps.hostId } : spec);
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
      await cleanup(this.deps, this.deps.store.runners.get(name)!, true).catch(() => undefined);
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

  private async reap(reap: Extract<Action, { kind: 'reap' }>, targetVersion: string | null, judged: () => void): Promise<void> {
    let a = reap;
    const { name, exitCode, reason } = a;
    const row = this.deps.store.runners.get(name);
    if (!row || row.state === 'gone') return;
    // A hook file present (or vandalised) means a job ran.
    const hook = await hookState(this.deps, name);
    const ranJob = row.ranJob || hook !== undefined;
    // The completed hook counted OOM kills in the runner's cgroup: known before the runner exited,
    // whatever order the engine's events come in.
    if (hook !== 'refused' && (hook?.oomKills ?? 0) > 0) a = { ...a, oomKilled: true };
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
    await cleanup(this.deps, row, meaning.lookup);
    this.deps.store.runners.update(name, { state: 'gone' });
    this.deps.retrigger();
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

  /** The pool's labels plus this host's id label. */
  private labelsFor(cfg: PoolConfig): string[] {
    const labels = runnerLabels(cfg, this.deps.arch);
    return this.deps.hostId ? [...labels, hostLabel(this.deps.hostId)] : labels;
  }
}
