/**
 * In-memory model of what GitHub knows: scopes, tokens, runner registrations, sessions and jobs.
 * No HTTP here; server.ts and the route files translate requests into these operations.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  emulatedView, restView, scopeKeyOf, scopeServes,
  type GroupRec, type JobRec, type LabelRec, type PollResult, type RunnerRec, type ScopeKind, type SessionRec, type TokenRec,
} from './records.js';
import type { EmulatedRunner, EmulatorOptions, QueuedJobSpec } from './types.js';

export type { GroupRec, JobRec, LabelRec, PollResult, RunnerRec, ScopeKind, SessionRec, TokenRec } from './records.js';
export { scopeKeyOf } from './records.js';

interface Poller { runner: RunnerRec; resolve: (r: PollResult) => void }

/** A session with no open poll stays live this long (the runner is between two polls). */
const SESSION_GRACE_MS = 2000;
const OS_LABELS = new Set(['self-hosted', 'linux', 'macos', 'windows', 'x64', 'x86', 'arm', 'arm64']);


export class EmuState extends EventEmitter {
  readonly now: () => number;
  readonly tokenTtlMs: number;
  adminTokenTtlMs: number;
  readonly busyLagMs: number;
  readonly scopes = new Map<string, { visibility?: 'public' | 'private' | 'internal' }>();
  readonly groups = new Map<string, GroupRec[]>(); // org:x / enterprise:x → groups
  readonly runnersById = new Map<number, RunnerRec>();
  readonly jobsById = new Map<number, JobRec>();
  readonly tokens = new Map<string, TokenRec>();
  readonly deprecatedVersions = new Set<string>();
  private readonly labelIds = new Map<string, number>();
  private readonly pollers = new Set<Poller>();
  private nextRunnerId = 1;
  private nextJobId = 1000;
  private nextGroupId = 2;

  constructor(opts: EmulatorOptions & { now?: () => number }) {
    super();
    this.now = opts.now ?? Date.now;
    this.tokenTtlMs = opts.tokenTtlMs ?? 3_600_000;
    this.adminTokenTtlMs = opts.adminTokenTtlMs ?? 3_600_000;
    this.busyLagMs = opts.busyLagMs ?? 0;
    for (const org of opts.orgs ?? ['acme']) this.addScope('org', org);
    for (const ent of opts.enterprises ?? ['ent']) this.addScope('enterprise', ent);
    for (const r of opts.repos ?? [{ fullName: 'acme/app', visibility: 'private' as const }]) {
      this.addScope('repo', r.fullName, r.visibility);
    }
    for (const g of opts.runnerGroups ?? []) {
      const list = this.groups.get(scopeKeyOf('org', g.org)) ?? [];
      list.push({ id: this.nextGroupId++, name: g.name, allowsPublicRepositories: !!g.allowsPublicRepositories, isDefault: false });
      this.groups.set(scopeKeyOf('org', g.org), list);
    }
  }

  addScope(kind: ScopeKind, name: string, visibility?: 'public' | 'private' | 'internal'): void {
    const key = scopeKeyOf(kind, name);
    this.scopes.set(key, kind === 'repo' ? { visibility: visibility ?? 'private' } : {});
    if (kind !== 'repo' && !this.groups.has(key)) this.groups.set(key, []);
  }

  groupsOf(scopeKey: string): GroupRec[] {
    const def: GroupRec = { id: 1, name: 'Default', allowsPublicRepositories: false, isDefault: true };
    return [def, ...(this.groups.get(scopeKey) ?? [])];
  }

  // ---- tokens ----
  issueToken(kind: TokenRec['kind'], extra: { scopeKey?: string; account?: string }, ttlMs = this.tokenTtlMs): TokenRec {
    const prefix = kind === 'installation' ? 'ghs_' : kind === 'tenant' ? 'tnt_' : 'A';
    const token = prefix + randomBytes(18).toString('hex').toUpperCase().slice(0, 28);
    const rec: TokenRec = { token, kind, ...extra, expiresAt: this.now() + ttlMs };
    this.tokens.set(token, rec);
    return rec;
  }

  /** Like issueToken, but the token is a JWT (unsigned payload with exp), as admin tokens are. */
  issueJwt(kind: TokenRec['kind'], extra: { scopeKey?: string; account?: string }, ttlMs: number): TokenRec {
    const rec = this.issueToken(kind, extra, ttlMs);
    this.tokens.delete(rec.token);
    const part = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    rec.token = `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ exp: Math.floor(rec.expiresAt / 1000), scp: extra.scopeKey })}.${randomBytes(24).toString('base64url')}`;
    this.tokens.set(rec.token, rec);
    return rec;
  }

  /** A live token of one of `kinds`, or null (unknown or expired). */
  liveToken(token: string, kinds: TokenRec['kind'][]): TokenRec | null {
    const rec = this.tokens.get(token);
    if (!rec || !kinds.includes(rec.kind)) return null;
    if (rec.expiresAt <= this.now()) return null;
    return rec;
  }

  // ---- runners ----
  labelRecs(names: string[], markDefaults: boolean, defaultsReadOnly: string[] = []): LabelRec[] {
    const seen = new Set<string>();
    const out: LabelRec[] = [];
    for (const name of names) {
      const lc = name.toLowerCase();
      if (seen.has(lc)) continue;
      seen.add(lc);
      if (!this.labelIds.has(lc)) this.labelIds.set(lc, this.labelIds.size + 1);
      const readOnly = (markDefaults && OS_LABELS.has(lc)) || defaultsReadOnly.includes(name);
      out.push({ id: this.labelIds.get(lc)!, name, type: readOnly ? 'read-only' : 'custom' });
    }
    return out;
  }

  createRunner(r: { scopeKey: string; name: string; labels: LabelRec[]; groupId: number; ephemeral: boolean; disableUpdate: boolean; os: string; version?: string | null }): RunnerRec {
    const rec: RunnerRec = {
      id: this.nextRunnerId++,
      name: r.name,
      scopeKey: r.scopeKey,
      labels: r.labels,
      groupId: r.groupId,
      ephemeral: r.ephemeral,
      disableUpdate: r.disableUpdate,
      os: r.os,
      version: r.version ?? null,
      clientId: randomUUID(),
      busy: false,
      busyShown: false,
      busyChangedAt: this.now(),
      session: null,
      jobId: null,
    };
    this.runnersById.set(rec.id, rec);
    this.emit('change');
    return rec;
  }

  runnerByName(scopeKey: string, name: string): RunnerRec | undefined {
    for (const r of this.runnersById.values()) if (r.scopeKey === scopeKey && r.name === name) return r;
    return undefined;
  }

  runnerByClientId(clientId: string): RunnerRec | undefined {
    for (const r of this.runnersById.values()) if (r.clientId === clientId) return r;
    return undefined;
  }

  /** GitHub refuses to delete a runner that is running a job (422), whatever its lagging busy flag says. */
  deleteRunner(id: number): 'deleted' | 'busy' | 'gone' {
    const r = this.runnersById.get(id);
    if (!r) return 'gone';
    if (r.busy) return 'busy';
    this.removeRunner(r);
    return 'deleted';
  }

  removeRunner(r: RunnerRec): void {
    this.runnersById.delete(r.id);
    for (const p of [...this.pollers]) {
      if (p.runner.id === r.id) {
        this.pollers.delete(p);
        p.resolve({ kind: 'deleted' });
      }
    }
    this.emit('change');
  }

  setBusy(r: RunnerRec, busy: boolean): void {
    r.busyShown = this.restBusy(r);
    r.busy = busy;
    r.busyChangedAt = this.now();
    this.emit('change');
  }

  restBusy(r: RunnerRec): boolean {
    return this.now() - r.busyChangedAt >= this.busyLagMs ? r.busy : r.busyShown;
  }

  sessionLive(s: SessionRec | null): boolean {
    if (!s) return false;
    return s.polls > 0 || this.now() - s.lastSeen < SESSION_GRACE_MS || Date.now() - s.lastSeen < SESSION_GRACE_MS;
  }

  status(r: RunnerRec): 'online' | 'offline' {
    if (r.foreign) return r.foreign.status;
    return this.sessionLive(r.session) || r.jobId !== null ? 'online' : 'offline';
  }

  toEmulated(r: RunnerRec): EmulatedRunner {
    return emulatedView(r, this.status(r));
  }

  /** The REST shape, with the busy flag as lagged as GitHub's. */
  toJson(r: RunnerRec): Record<string, unknown> {
    return restView(r, this.status(r), this.restBusy(r));
  }

  // ---- sessions ----
  openSession(r: RunnerRec): SessionRec | 'conflict' {
    if (this.sessionLive(r.session)) return 'conflict';
    r.session = { id: randomUUID(), runnerId: r.id, polls: 0, lastSeen: Date.now() };
    this.emit('change');
    return r.session;
  }

  closeSession(r: RunnerRec): void {
    r.session = null;
    for (const p of [...this.pollers]) {
      if (p.runner.id === r.id) {
        this.pollers.delete(p);
        p.resolve({ kind: 'timeout' });
      }
    }
    this.emit('change');
  }

  /** Long-poll for a job. `cancel` is called if the client goes away. */
  poll(r: RunnerRec, timeoutMs: number): { result: Promise<PollResult>; cancel: () => void } {
    const s = r.session!;
    s.polls++;
    s.lastSeen = Date.now();
    let poller!: Poller;
    let timer: NodeJS.Timeout | undefined;
    const result = new Promise<PollResult>((resolve) => {
      poller = {
        runner: r,
        resolve: (res) => {
          clearTimeout(timer);
          s.polls = Math.max(0, s.polls - 1);
          s.lastSeen = Date.now();
          resolve(res);
        },
      };
    });
    const job = this.findJobFor(r);
    if (job) {
      this.assign(job, r);
      poller.resolve({ kind: 'job', job });
    } else {
      this.pollers.add(poller);
      timer = setTimeout(() => {
        if (this.pollers.delete(poller)) poller.resolve({ kind: 'timeout' });
      }, timeoutMs);
    }
    return {
      result,
      cancel: () => {
        if (this.pollers.delete(poller)) poller.resolve({ kind: 'timeout' });
      },
    };
  }

  /** Drop every waiting poll (emulator shutdown). */
  releaseAllPolls(): void {
    for (const p of [...this.pollers]) {
      this.pollers.delete(p);
      p.resolve({ kind: 'timeout' });
    }
  }

  // ---- jobs ----
  queueJob(spec: QueuedJobSpec): number {
    const scope = spec.scope ?? { org: 'acme' };
    const scopeKey = 'org' in scope ? scopeKeyOf('org', scope.org) : 'repo' in scope ? scopeKeyOf('repo', scope.repo) : scopeKeyOf('enterprise', scope.enterprise);
    const id = this.nextJobId++;
    const job: JobRec = {
      id,
      name: spec.name ?? `job-${id}`,
      labels: spec.labels,
      status: 'queued',
      conclusion: null,
      runnerName: null,
      runnerId: null,
      output: '',
      queuedAt: this.now(),
      startedAt: null,
      completedAt: null,
      scopeKey,
      script: spec.script,
      durationMs: spec.durationMs,
      runId: id * 10,
      headSha: randomBytes(20).toString('hex'),
    };
    this.jobsById.set(id, job);
    this.emit('job', 'queued', job);
    this.dispatch();
    return id;
  }

  /** Hands queued jobs to waiting runners (also after a scale set releases a held job). */
  dispatch(): void {
    for (const p of [...this.pollers]) {
      const job = this.findJobFor(p.runner);
      if (!job) continue;
      this.pollers.delete(p);
      this.assign(job, p.runner);
      p.resolve({ kind: 'job', job });
    }
  }

  private findJobFor(r: RunnerRec): JobRec | undefined {
    if (r.jobId !== null || (r.version && this.deprecatedVersions.has(r.version))) return undefined;
    const have = new Set(r.labels.map((l) => l.name.toLowerCase()));
    for (const j of this.jobsById.values()) {
      if (j.status !== 'queued' || !scopeServes(r.scopeKey, j.scopeKey)) continue;
      // Scale-set jobs go to that set's runners only, once assigned; any of its runners takes any of them.
      if (j.held || (j.scaleSetId ?? 0) !== (r.scaleSetId ?? 0)) continue;
      if (r.scaleSetId) return j;
      if (j.labels.every((l) => have.has(l.toLowerCase()))) return j;
    }
    return undefined;
  }

  private assign(job: JobRec, r: RunnerRec): void {
    job.status = 'in_progress';
    job.runnerId = r.id;
    job.runnerName = r.name;
    job.startedAt = this.now();
    r.jobId = job.id;
    this.setBusy(r, true);
    this.emit('job', 'in_progress', job);
  }

  completeJob(job: JobRec, conclusion: 'success' | 'failure' | 'cancelled', output: string): void {
    if (job.status === 'completed') return;
    job.status = 'completed';
    job.conclusion = conclusion;
    job.output = output;
    job.completedAt = this.now();
    const r = job.runnerId !== null ? this.runnersById.get(job.runnerId) : undefined;
    if (r) {
      r.jobId = null;
      this.setBusy(r, false);
      // GitHub deregisters an ephemeral runner once its job is done.
      if (r.ephemeral) this.removeRunner(r);
    }
    this.emit('job', 'completed', job);
    this.dispatch();
  }
}
