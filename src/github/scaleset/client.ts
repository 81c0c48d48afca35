import { systemClock, type Clock } from '../../clock.js';
import { FleetError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { RequestRecord } from '../stats.js';
import type { Scope, Token } from '../types.js';
import { AdminConnection } from './admin.js';
import { actionsCall, actionsStatus, actionsTypeName, parseJson, serviceError, serviceUrl, type ActionsAnswer, type ActionsHttp } from './http.js';
import { mapScaleSet, mapSession } from './map.js';
import { QueueSession } from './session.js';
import type { Agent, JitRunner, ScaleSet, ScaleSetSession, ScaleSetSpec } from './types.js';

export interface ScaleSetClientOptions {
  apiUrl: string;
  githubUrl: string;
  scope: Scope;
  registrationToken: (scope: Scope) => Promise<Token>;
  /** The daemon's fetch (proxy + CA), as the REST client gets. */
  fetch?: typeof fetch;
  clock?: Clock;
  logger: Logger;
  userAgent?: string;
  /** Into the REST client's request stats and metrics, marked service 'actions'. */
  onRequest?: (r: RequestRecord) => void;
  retryBaseMs?: number;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- service JSON is mapped field by field in map.ts */
type Json = any;

const SETS = '_apis/runtime/runnerscalesets';
const AGENTS = '_apis/distributedtask/pools/0/agents';

/** The Actions-service calls of a runner scale set, for one scope (org, repo or enterprise). */
export class ScaleSetClient {
  readonly admin: AdminConnection;
  readonly http: ActionsHttp;

  constructor(readonly opts: ScaleSetClientOptions) {
    this.http = {
      fetch: opts.fetch ?? fetch,
      clock: opts.clock ?? systemClock,
      logger: opts.logger,
      userAgent: opts.userAgent ?? 'runner-fleet',
      retryBaseMs: opts.retryBaseMs ?? 1000,
      retries: 3,
      record: opts.onRequest,
    };
    this.admin = new AdminConnection({ apiUrl: opts.apiUrl, githubUrl: opts.githubUrl, scope: opts.scope, registrationToken: opts.registrationToken, http: this.http });
  }

  /** A service call with the admin token; a 401 means it went stale: reconnect once and retry. */
  private async call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, route: string, o: { query?: Record<string, string | number>; body?: unknown } = {}): Promise<ActionsAnswer> {
    for (let n = 0; ; n++) {
      const admin = await this.admin.get();
      const a = await actionsCall(this.http, {
        method, url: serviceUrl(admin.serviceUrl, path, o.query), route: `/${route}`, authorization: `Bearer ${admin.token}`, body: o.body,
      });
      if (a.status !== 401 || n > 0) return a;
      this.admin.invalidate(admin.token);
    }
  }

  private async expect(what: string, a: ActionsAnswer, ok: number[]): Promise<ActionsAnswer> {
    if (!ok.includes(a.status)) throw serviceError(what, a);
    return a;
  }

  async runnerGroupId(name: string): Promise<number> {
    const a = await this.expect(`runner group ${name}`, await this.call('GET', '_apis/runtime/runnergroups/', '_apis/runtime/runnergroups', { query: { groupName: name } }), [200]);
    const list = parseJson<{ value?: Json[] }>('runner groups', a).value ?? [];
    const hit = list.find((g) => String(g.name).toLowerCase() === name.toLowerCase());
    if (!hit) throw new FleetError('GITHUB_NOT_FOUND', `no runner group named "${name}"`);
    return Number(hit.id);
  }

  async getScaleSet(runnerGroupId: number, name: string): Promise<ScaleSet | null> {
    const a = await this.expect(`find scale set ${name}`, await this.call('GET', SETS, SETS, { query: { runnerGroupId, name } }), [200]);
    const body = parseJson<{ count?: number; value?: Json[] }>('scale sets', a);
    const hit = (body.value ?? []).find((s) => s.name === name);
    return hit ? mapScaleSet(hit) : null;
  }

  async getScaleSetById(id: number): Promise<ScaleSet | null> {
    const a = await this.call('GET', `${SETS}/${id}`, `${SETS}/{id}`);
    if (a.status === 404) return null;
    await this.expect(`scale set ${id}`, a, [200]);
    return mapScaleSet(parseJson('scale set', a));
  }

  async createScaleSet(spec: ScaleSetSpec): Promise<ScaleSet> {
    const a = await this.expect(`create scale set ${spec.name}`, await this.call('POST', SETS, SETS, { body: wireSpec(spec) }), [200, 201]);
    return mapScaleSet(parseJson('scale set', a));
  }

  async updateScaleSet(id: number, spec: ScaleSetSpec): Promise<ScaleSet> {
    const a = await this.expect(`update scale set ${id}`, await this.call('PATCH', `${SETS}/${id}`, `${SETS}/{id}`, { body: wireSpec(spec) }), [200]);
    return mapScaleSet(parseJson('scale set', a));
  }

  /** 'gone' when it was deleted already. */
  async deleteScaleSet(id: number): Promise<'deleted' | 'gone'> {
    const a = await this.call('DELETE', `${SETS}/${id}`, `${SETS}/{id}`);
    if (a.status === 404) return 'gone';
    await this.expect(`delete scale set ${id}`, a, [200, 204]);
    return 'deleted';
  }

  /** GITHUB_CONFLICT while another session (ours before a crash, or another host's) is alive. */
  async createSession(scaleSetId: number, ownerName: string): Promise<QueueSession> {
    const a = await this.expect(`session for scale set ${scaleSetId}`, await this.call('POST', `${SETS}/${scaleSetId}/sessions`, `${SETS}/{id}/sessions`, { body: { ownerName } }), [200, 201]);
    return new QueueSession(this, mapSession(parseJson('session', a), scaleSetId));
  }

  /** A fresh message-queue token for the session (PATCH). */
  async refreshSession(s: Pick<ScaleSetSession, 'scaleSetId' | 'sessionId'>): Promise<ScaleSetSession> {
    const a = await this.expect('refresh session', await this.call('PATCH', `${SETS}/${s.scaleSetId}/sessions/${s.sessionId}`, `${SETS}/{id}/sessions/{sessionId}`), [200]);
    return mapSession(parseJson('session', a), s.scaleSetId);
  }

  async deleteSession(s: Pick<ScaleSetSession, 'scaleSetId' | 'sessionId'>): Promise<void> {
    const a = await this.call('DELETE', `${SETS}/${s.scaleSetId}/sessions/${s.sessionId}`, `${SETS}/{id}/sessions/{sessionId}`);
    if (a.status !== 404) await this.expect('delete session', a, [200, 204]);
  }

  /** Acquire JobAvailable requests (GHES); answers the ids GitHub gave us. */
  async acquireJobs(s: Pick<ScaleSetSession, 'scaleSetId' | 'messageQueueAccessToken'>, requestIds: number[]): Promise<number[]> {
    const admin = await this.admin.get();
    const a = await actionsCall(this.http, {
      method: 'POST', url: serviceUrl(admin.serviceUrl, `${SETS}/${s.scaleSetId}/acquirejobs`), route: `/${SETS}/{id}/acquirejobs`,
      authorization: `Bearer ${s.messageQueueAccessToken}`, body: requestIds,
    });
    if (a.status === 401) throw new FleetError('SCALESET_QUEUE_EXPIRED', 'acquire jobs: the message-queue token expired', { cause: serviceError('acquire jobs', a) });
    await this.expect('acquire jobs', a, [200]);
    return ((parseJson<{ value?: unknown[] }>('acquire jobs', a).value ?? []) as unknown[]).map(Number);
  }

  async generateJitConfig(scaleSetId: number, name: string, workFolder = '_work'): Promise<JitRunner> {
    const a = await this.expect(`JIT config for ${name}`, await this.call('POST', `${SETS}/${scaleSetId}/generatejitconfig`, `${SETS}/{id}/generatejitconfig`, { body: { name, workFolder } }), [200, 201]);
    const b = parseJson<Json>('JIT config', a);
    if (!b.runner || typeof b.encodedJITConfig !== 'string') throw new FleetError('SCALESET_BAD_MESSAGE', `JIT config for ${name}: answer without runner or encodedJITConfig`);
    return { runnerId: Number(b.runner.id), name: String(b.runner.name), scaleSetId: Number(b.runner.runnerScaleSetId ?? scaleSetId), encoded: b.encodedJITConfig };
  }

  async getAgent(id: number): Promise<Agent | null> {
    const a = await this.call('GET', `${AGENTS}/${id}`, `${AGENTS}/{id}`);
    if (a.status === 404) return null;
    await this.expect(`runner ${id}`, a, [200]);
    return mapAgent(parseJson('runner', a));
  }

  async getAgentByName(name: string): Promise<Agent | null> {
    const a = await this.expect(`runner ${name}`, await this.call('GET', AGENTS, AGENTS, { query: { agentName: name } }), [200]);
    const v = parseJson<{ value?: Json[] }>('runners', a).value ?? [];
    return v[0] ? mapAgent(v[0]) : null;
  }

  /** JobStillRunningException → 'busy' (keep it); 404 / AgentNotFoundException → 'gone'. */
  async deleteAgent(id: number): Promise<'deleted' | 'busy' | 'gone'> {
    const a = await this.call('DELETE', `${AGENTS}/${id}`, `${AGENTS}/{id}`);
    if (a.status === 200 || a.status === 204) return 'deleted';
    const err = serviceError(`remove runner ${id}`, a);
    if (actionsTypeName(err).includes('JobStillRunning')) return 'busy';
    if (actionsStatus(err) === 404 || actionsTypeName(err).includes('AgentNotFound')) return 'gone';
    throw err;
  }
}

function wireSpec(spec: ScaleSetSpec): Record<string, unknown> {
  return {
    name: spec.name,
    runnerGroupId: spec.runnerGroupId,
    labels: spec.labels.map((name) => ({ name, type: 'System' })),
    RunnerSetting: { ephemeral: true, isElastic: true, disableUpdate: spec.disableUpdate ?? false },
  };
}

function mapAgent(j: Json): Agent {
  return { id: Number(j.id), name: String(j.name), busy: Boolean(j.busy ?? j.assignedRequest), status: String(j.status ?? '') };
}

