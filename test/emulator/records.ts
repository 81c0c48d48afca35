/** The emulator's records of what GitHub knows, and the pure views and rules over them. */
import type { EmulatedRunner, JobInfo } from './types.js';

export type ScopeKind = 'repo' | 'org' | 'enterprise';
export interface LabelRec { id: number; name: string; type: 'read-only' | 'custom' }
export interface GroupRec { id: number; name: string; allowsPublicRepositories: boolean; isDefault: boolean }

export interface SessionRec { id: string; runnerId: number; polls: number; lastSeen: number }

export interface RunnerRec {
  id: number;
  name: string;
  scopeKey: string;
  labels: LabelRec[];
  groupId: number;
  ephemeral: boolean;
  disableUpdate: boolean;
  os: string;
  version: string | null;
  clientId: string;
  busy: boolean;
  /** What the REST view shows until busyLagMs has passed since busyChangedAt. */
  busyShown: boolean;
  busyChangedAt: number;
  session: SessionRec | null;
  jobId: number | null;
  foreign?: { status: 'online' | 'offline' };
  /** Set for a JIT runner generated through a scale set: it takes only that set's assigned jobs. */
  scaleSetId?: number;
}

export interface TokenRec {
  token: string;
  kind: 'registration' | 'remove' | 'installation' | 'tenant';
  scopeKey?: string;
  /** installation tokens: the org/user they may act on */
  account?: string;
  expiresAt: number;
}

export interface JobRec extends JobInfo {
  scopeKey: string;
  script?: string;
  durationMs?: number;
  runId: number;
  headSha: string;
  /** The scale set the job was routed to (its labels matched), if any. */
  scaleSetId?: number;
  /** Not yet assignable to a runner (a scale set has not been assigned / has not acquired it). */
  held?: boolean;
}

export type PollResult = { kind: 'job'; job: JobRec } | { kind: 'deleted' } | { kind: 'timeout' };

export const scopeKeyOf = (kind: ScopeKind, name: string): string => `${kind}:${name}`;

/** Repo jobs run on repo, owning-org and enterprise runners; org jobs on org and enterprise runners. */
export function scopeServes(runnerScope: string, jobScope: string): boolean {
  if (runnerScope === jobScope || runnerScope.startsWith('enterprise:')) return true;
  if (jobScope.startsWith('repo:') && runnerScope.startsWith('org:')) {
    return jobScope.slice(5).split('/')[0] === runnerScope.slice(4);
  }
  return false;
}

export function emulatedView(r: RunnerRec, status: 'online' | 'offline'): EmulatedRunner {
  return {
    id: r.id,
    name: r.name,
    scopeKey: r.scopeKey,
    status,
    busy: r.busy,
    ephemeral: r.ephemeral,
    labels: r.labels.map((l) => l.name),
    version: r.version,
    runnerGroupId: r.groupId,
    disableUpdate: r.disableUpdate,
  };
}

export function restView(r: RunnerRec, status: 'online' | 'offline', busy: boolean): Record<string, unknown> {
  return {
    id: r.id,
    name: r.name,
    os: r.os,
    status,
    busy,
    ephemeral: r.ephemeral,
    version: r.version,
    runner_group_id: r.groupId,
    labels: r.labels,
  };
}
