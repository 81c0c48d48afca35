/**
 * The Actions-service side of runner scale sets, in memory: scale sets, message sessions, the
 * message queue with statistics, ack/redelivery, JobAvailable + acquire (GHES), and the trapdoor
 * (a job queued while the set advertised capacity 0 is never assigned). Jobs come from EmuState.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { scopeServes, type JobRec, type RunnerRec } from '../records.js';
import type { EmuState } from '../state.js';
import type { ScaleSetInfo, ScaleSetOptions, ScaleSetStats } from './types.js';

export interface SsSession { id: string; owner: string; queueToken: string; tokenExpiresAt: number; polls: number; lastSeen: number }
export interface MsgRec { id: number; items: Record<string, unknown>[]; deliveries: number; acked: boolean }
export interface ScaleSetRec {
  id: number; name: string; scopeKey: string; groupId: number; groupName: string; labels: { type: string; name: string }[];
  disableUpdate: boolean; session: SsSession | null; queue: MsgRec[]; advertised: number[]; polls: number; sessionsCreated: number; conflicts: number;
}
type Phase = 'available' | 'assigned' | 'stranded';
interface Waiter { ss: ScaleSetRec; wake: () => void }

export class ScaleSetModel {
  readonly sets = new Map<number, ScaleSetRec>();
  readonly phase = new Map<number, { ss: number; phase: Phase; requestId: number }>();
  readonly holdMs: number;
  readonly sessionExpiryMs: number;
  readonly queueTokenTtlMs: number;
  readonly ghes: boolean;
  readonly faults = { empty: 0, malformed: 0, hang: false };
  private readonly waiters = new Set<Waiter>();
  private nextId = 1;
  private nextMsg = 1;
  private nextRequest = 5000;

  constructor(readonly state: EmuState, opts: ScaleSetOptions = {}) {
    this.holdMs = opts.holdMs ?? 50_000;
    this.sessionExpiryMs = opts.sessionExpiryMs ?? 50_000;
    this.queueTokenTtlMs = opts.queueTokenTtlMs ?? 3_600_000;
    this.ghes = opts.ghes ?? false;
    state.on('job', (action: string, job: JobRec) => this.onJob(action, job));
  }

  // ---- scale sets ----
  create(scopeKey: string, b: { name: string; groupId: number; groupName: string; labels: { type: string; name: string }[]; disableUpdate: boolean }): ScaleSetRec {
    const ss: ScaleSetRec = { id: this.nextId++, scopeKey, ...b, session: null, queue: [], advertised: [], polls: 0, sessionsCreated: 0, conflicts: 0 };
    this.sets.set(ss.id, ss);
    return ss;
  }

  find(scopeKey: string, groupId: number | null, name: string | null): ScaleSetRec[] {
    return [...this.sets.values()].filter((s) => s.scopeKey === scopeKey && (groupId === null || s.groupId === groupId) && (name === null || s.name === name));
  }

  remove(ss: ScaleSetRec): void {
    this.sets.delete(ss.id);
    ss.session = null;
    for (const r of this.runnersOf(ss)) this.state.deleteRunner(r.id);
    this.wake(ss, true);
  }

  runnersOf(ss: ScaleSetRec): RunnerRec[] {
    return [...this.state.runnersById.values()].filter((r) => r.scaleSetId === ss.id);
  }

  stats(ss: ScaleSetRec): ScaleSetStats {
    const jobs = [...this.phase.entries()].filter(([, p]) => p.ss === ss.id).map(([id, p]) => ({ job: this.state.jobsById.get(id)!, p }));
    const open = jobs.filter((j) => j.job.status !== 'completed');
    const runners = this.runnersOf(ss);
    const busy = runners.filter((r) => r.jobId !== null).length;
    return {
      totalAvailableJobs: open.filter((j) => j.p.phase === 'available').length,
      totalAcquiredJobs: open.filter((j) => j.p.phase === 'assigned' && j.job.status === 'queued').length,
      totalAssignedJobs: open.filter((j) => j.p.phase === 'assigned').length,
      totalRunningJobs: open.filter((j) => j.job.status === 'in_progress').length,
      totalRegisteredRunners: runners.length,
      totalBusyRunners: busy,
      totalIdleRunners: runners.length - busy,
    };
  }

  // ---- sessions ----
  sessionLive(ss: ScaleSetRec): boolean {
    const s = ss.session;
    return !!s && (s.polls > 0 || this.state.now() - s.lastSeen < this.sessionExpiryMs);
  }

  openSession(ss: ScaleSetRec, owner: string): SsSession | 'conflict' {
    if (this.sessionLive(ss)) {
      ss.conflicts++;
      return 'conflict';
    }
    ss.session = { id: randomUUID(), owner, queueToken: '', tokenExpiresAt: 0, polls: 0, lastSeen: this.state.now() };
    ss.sessionsCreated++;
    this.newQueueToken(ss.session);
    return ss.session;
  }

  newQueueToken(s: SsSession): void {
    s.queueToken = `q_${randomBytes(16).toString('hex')}`;
    s.tokenExpiresAt = this.state.now() + this.queueTokenTtlMs;
  }

  closeSession(ss: ScaleSetRec): void {
    ss.session = null;
    this.wake(ss, true);
  }

  /** The session whose queue token this is, if it is still valid. */
  byQueueToken(token: string): { ss: ScaleSetRec; session: SsSession } | null {
    for (const ss of this.sets.values()) {
      const s = ss.session;
      if (s && s.queueToken === token && s.tokenExpiresAt > this.state.now()) return { ss, session: s };
    }
    return null;
  }

  // ---- the queue ----
  /** The next message for a poll: the first unacknowledged one after lastMessageId. */
  nextMessage(ss: ScaleSetRec, lastMessageId: number): MsgRec | undefined {
    return ss.queue.find((m) => !m.acked && m.id > lastMessageId);
  }

  /** Waits for a message (or the hold time); resolves early when the set changes. */
  wait(ss: ScaleSetRec, ms: number, onClose: (cancel: () => void) => void): Promise<void> {
    return new Promise((resolve) => {
      const w: Waiter = { ss, wake: () => done() };
      const t = this.faults.hang ? undefined : setTimeout(() => done(), ms);
      const done = (): void => {
        clearTimeout(t);
        if (this.waiters.delete(w)) resolve();
      };
      this.waiters.add(w);
      onClose(done);
    });
  }

  /** Answers waiting polls of `ss` (all when omitted); a hang fault holds them unless forced. */
  wake(ss?: ScaleSetRec, force = false): void {
    if (this.faults.hang && !force) return;
    for (const w of [...this.waiters]) if (!ss || w.ss.id === ss.id) w.wake();
  }

  ack(ss: ScaleSetRec, messageId: number): boolean {
    const m = ss.queue.find((x) => x.id === messageId);
    if (!m) return false;
    m.acked = true;
    return true;
  }

  /** Events go into the newest message not yet delivered (at most 50 items), else a new one. */
  private push(ss: ScaleSetRec, item: Record<string, unknown>): void {
    const last = ss.queue.at(-1);
    if (last && last.deliveries === 0 && !last.acked && last.items.length < 50) last.items.push(item);
    else ss.queue.push({ id: this.nextMsg++, items: [item], deliveries: 0, acked: false });
    // After the current tick, so a burst queued together lands in one message.
    setImmediate(() => this.wake(ss));
  }

  private base(job: JobRec, type: string): Record<string, unknown> {
    const [owner, repo] = job.scopeKey.startsWith('repo:') ? job.scopeKey.slice(5).split('/') : [job.scopeKey.split(':')[1], ''];
    return {
      messageType: type, runnerRequestId: this.phase.get(job.id)?.requestId ?? 0, repositoryName: repo, ownerName: owner,
      jobId: String(job.id), jobWorkflowRef: `${owner}/${repo || 'repo'}/.github/workflows/ci.yml@refs/heads/main`, jobDisplayName: job.name,
      workflowRunId: job.runId, eventName: 'push', requestLabels: job.labels, queueTime: new Date(job.queuedAt).toISOString(),
    };
  }

  private route(job: JobRec): ScaleSetRec | undefined {
    for (const ss of this.sets.values()) {
      if (!scopeServes(ss.scopeKey, job.scopeKey)) continue;
      const names = new Set([ss.name, ...ss.labels.map((l) => l.name)].map((n) => n.toLowerCase()));
      if (job.labels.length > 0 && job.labels.every((l) => names.has(l.toLowerCase()))) return ss;
    }
    return undefined;
  }

  private onJob(action: string, job: JobRec): void {
    if (action === 'queued') return this.onQueued(job);
    const p = this.phase.get(job.id);
    const ss = p && this.sets.get(p.ss);
    if (!ss) return;
    const r = job.runnerId !== null ? { runnerId: job.runnerId, runnerName: job.runnerName } : {};
    if (action === 'in_progress') this.push(ss, { ...this.base(job, 'JobStarted'), ...r });
    if (action === 'completed') this.push(ss, { ...this.base(job, 'JobCompleted'), ...r, result: job.conclusion === 'success' ? 'succeeded' : job.conclusion === 'cancelled' ? 'canceled' : 'failed' });
  }

  private onQueued(job: JobRec): void {
    const ss = this.route(job);
    if (!ss) return;
    job.scaleSetId = ss.id;
    job.held = true;
    const last = ss.advertised.at(-1);
    // The trapdoor: a job that arrives while the client says it can run nothing is never assigned.
    const phase: Phase = last === 0 ? 'stranded' : this.ghes ? 'available' : 'assigned';
    this.phase.set(job.id, { ss: ss.id, phase, requestId: this.ghes ? this.nextRequest++ : 0 });
    if (phase === 'stranded') return;
    if (phase === 'available') return this.push(ss, { ...this.base(job, 'JobAvailable'), acquireJobUrl: `acquirejobs/${ss.id}` });
    job.held = false;
    this.push(ss, this.base(job, 'JobAssigned'));
  }

  /** GHES: the client acquires JobAvailable requests; those become assigned. Answers the ids acquired. */
  acquire(ss: ScaleSetRec, requestIds: number[]): number[] {
    const got: number[] = [];
    for (const [jobId, p] of this.phase) {
      if (p.ss !== ss.id || p.phase !== 'available' || !requestIds.includes(p.requestId)) continue;
      const job = this.state.jobsById.get(jobId)!;
      p.phase = 'assigned';
      job.held = false;
      got.push(p.requestId);
      this.push(ss, this.base(job, 'JobAssigned'));
    }
    this.state.dispatch();
    return got;
  }

  stranded(): number[] {
    return [...this.phase.entries()].filter(([, p]) => p.phase === 'stranded').map(([id]) => id);
  }

  info(ss: ScaleSetRec): ScaleSetInfo {
    return {
      id: ss.id, name: ss.name, scopeKey: ss.scopeKey, runnerGroupId: ss.groupId, labels: ss.labels.map((l) => l.name),
      sessionOwner: this.sessionLive(ss) ? ss.session!.owner : null, advertised: [...ss.advertised], statistics: this.stats(ss),
      messages: ss.queue.map((m) => ({ messageId: m.id, items: m.items.length, deliveries: m.deliveries, acked: m.acked })),
      polls: ss.polls, sessionsCreated: ss.sessionsCreated, conflicts: ss.conflicts,
    };
  }
}
