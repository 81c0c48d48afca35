/**
 * HTTP routes of the Actions service for runner scale sets (scaleset-facts.md), under the service
 * URL that actions/runner-registration hands out ({web}/_runner), plus the message queue (/_queue).
 * Kind 'actions': faults apply, REST auth and rate limit do not.
 */
import { json, type Ctx, type Reply, type Router } from '../http.js';
import { encodeJitConfig } from '../runner-proto.js';
import { gitHubUrlOf } from '../rest.js';
import type { EmuState } from '../state.js';
import type { ScaleSetModel, ScaleSetRec } from './model.js';

const SETS = '/_runner/_apis/runtime/runnerscalesets';
const AGENTS = '/_runner/_apis/distributedtask/pools/0/agents';

const svcError = (status: number, typeName: string, message: string): Reply => ({ status, body: { typeName, message, errorCode: 0, eventId: 3000 } });
const bearer = (ctx: Ctx): string => /^bearer\s+(.+)$/i.exec(ctx.req.headers.authorization ?? '')?.[1]?.trim() ?? '';

export function setJson(m: ScaleSetModel, ss: ScaleSetRec): Record<string, unknown> {
  return {
    id: ss.id, name: ss.name, runnerGroupId: ss.groupId, runnerGroupName: ss.groupName, labels: ss.labels,
    RunnerSetting: { ephemeral: true, isElastic: true, disableUpdate: ss.disableUpdate }, createdOn: new Date().toISOString(),
    runnerJitConfigUrl: `${SETS}/${ss.id}/generatejitconfig`, statistics: m.stats(ss),
  };
}

export function registerScaleSetRoutes(router: Router, m: ScaleSetModel, state: EmuState, webUrl: () => string): void {
  /** Admin-token routes: a live tenant JWT names the scope; api-version is required as GitHub does. */
  const admin = (fn: (ctx: Ctx, scopeKey: string) => Reply | Promise<Reply>) => (ctx: Ctx): Reply | Promise<Reply> => {
    const t = state.liveToken(bearer(ctx), ['tenant']);
    if (!t?.scopeKey) return svcError(401, 'VssUnauthorizedException', 'TF400813: The user is not authorized to access this resource.');
    if (!ctx.query.get('api-version')) return svcError(400, 'VssVersionNotSpecifiedException', 'No api-version was supplied.');
    return fn(ctx, t.scopeKey);
  };
  const withSet = (fn: (ctx: Ctx, ss: ScaleSetRec) => Reply | Promise<Reply>) =>
    admin((ctx, scopeKey) => {
      const ss = m.sets.get(Number(ctx.params.id));
      return ss && ss.scopeKey === scopeKey ? fn(ctx, ss) : svcError(404, 'RunnerScaleSetNotFoundException', `No runner scale set with id ${ctx.params.id}`);
    });
  const groups = (scopeKey: string) => state.groupsOf(scopeKey.startsWith('repo:') ? '' : scopeKey);
  const add = (method: string, path: string, h: (ctx: Ctx) => Reply | Promise<Reply>) => router.add(method, path, h, 'actions');

  for (const p of ['/_runner/_apis/runtime/runnergroups/', '/_runner/_apis/runtime/runnergroups']) {
    add('GET', p, admin((ctx, scopeKey) => {
      const name = ctx.query.get('groupName');
      const value = groups(scopeKey).filter((g) => name === null || g.name.toLowerCase() === name.toLowerCase()).map((g) => ({ id: g.id, name: g.name, isDefaultGroup: g.isDefault }));
      return json(200, { count: value.length, value });
    }));
  }

  add('GET', SETS, admin((ctx, scopeKey) => {
    const gid = ctx.query.get('runnerGroupId');
    const value = m.find(scopeKey, gid === null ? null : Number(gid), ctx.query.get('name')).map((s) => setJson(m, s));
    return json(200, { count: value.length, value });
  }));

  add('POST', SETS, admin((ctx, scopeKey) => {
    const b = ctx.body ?? {};
    const g = groups(scopeKey).find((x) => x.id === Number(b.runnerGroupId ?? 1));
    if (!g) return svcError(404, 'RunnerGroupNotFoundException', `No runner group with id ${b.runnerGroupId}`);
    if (typeof b.name !== 'string' || !b.name) return svcError(400, 'ArgumentException', 'name is required');
    if (m.find(scopeKey, g.id, b.name).length) return svcError(409, 'RunnerScaleSetExistsException', `A runner scale set named ${b.name} already exists`);
    const ss = m.create(scopeKey, { name: b.name, groupId: g.id, groupName: g.name, labels: wireLabels(b.labels, b.name), disableUpdate: !!b.RunnerSetting?.disableUpdate });
    return json(200, setJson(m, ss));
  }));

  add('GET', `${SETS}/{id}`, withSet((_ctx, ss) => json(200, setJson(m, ss))));
  add('PATCH', `${SETS}/{id}`, withSet((ctx, ss) => {
    const b = ctx.body ?? {};
    if (Array.isArray(b.labels)) ss.labels = wireLabels(b.labels, ss.name);
    if (typeof b.name === 'string' && b.name) ss.name = b.name;
    if (b.RunnerSetting) ss.disableUpdate = !!b.RunnerSetting.disableUpdate;
    return json(200, setJson(m, ss));
  }));
  add('DELETE', `${SETS}/{id}`, withSet((_ctx, ss) => {
    m.remove(ss);
    return { status: 204 };
  }));

  add('POST', `${SETS}/{id}/sessions`, withSet((ctx, ss) => {
    const s = m.openSession(ss, String(ctx.body?.ownerName ?? ''));
    if (s === 'conflict') return svcError(409, 'TaskAgentSessionConflictException', `The scale set ${ss.name} already has an active session for owner ${ss.session?.owner}.`);
    return json(200, sessionJson(m, ss, webUrl()));
  }));
  add('PATCH', `${SETS}/{id}/sessions/{sid}`, withSet((ctx, ss) => {
    const s = ss.session;
    if (!s || s.id !== ctx.params.sid) return svcError(404, 'TaskAgentSessionExpiredException', 'session not found');
    m.newQueueToken(s);
    s.lastSeen = state.now();
    return json(200, sessionJson(m, ss, webUrl()));
  }));
  add('DELETE', `${SETS}/{id}/sessions/{sid}`, withSet((ctx, ss) => {
    if (ss.session?.id === ctx.params.sid) m.closeSession(ss);
    return { status: 204 };
  }));

  add('POST', `${SETS}/{id}/acquirejobs`, (ctx) => {
    const q = m.byQueueToken(bearer(ctx));
    if (!q || q.ss.id !== Number(ctx.params.id)) return svcError(401, 'VssUnauthorizedException', 'message queue token expired');
    const ids = Array.isArray(ctx.body) ? ctx.body.map(Number) : [];
    const value = m.acquire(q.ss, ids);
    return json(200, { count: value.length, value });
  });

  add('POST', `${SETS}/{id}/generatejitconfig`, withSet((ctx, ss) => {
    const name = String(ctx.body?.name ?? '');
    if (!name) return svcError(400, 'ArgumentException', 'name is required');
    if (state.runnerByName(ss.scopeKey, name)) return svcError(409, 'AgentExistsException', `A runner named ${name} already exists`);
    const r = state.createRunner({ scopeKey: ss.scopeKey, name, labels: state.labelRecs(ss.labels.map((l) => l.name), false), groupId: ss.groupId, ephemeral: true, disableUpdate: ss.disableUpdate, os: 'unknown' });
    r.scaleSetId = ss.id;
    const [kind, scopeName] = [ss.scopeKey.split(':')[0]!, ss.scopeKey.slice(ss.scopeKey.indexOf(':') + 1)];
    const encodedJITConfig = encodeJitConfig(r, { serverUrl: `${webUrl()}/_runner`, gitHubUrl: gitHubUrlOf(webUrl(), { kind, name: scopeName }), workFolder: String(ctx.body?.workFolder ?? '_work'), poolName: ss.groupName });
    return json(200, { runner: { id: r.id, name: r.name, runnerScaleSetId: ss.id }, encodedJITConfig });
  }));

  const agentJson = (id: number) => {
    const r = state.runnersById.get(id)!;
    return { id: r.id, name: r.name, status: state.status(r), busy: r.busy, enabled: true, runnerScaleSetId: r.scaleSetId ?? 0, labels: r.labels };
  };
  add('GET', AGENTS, admin((ctx, scopeKey) => {
    const r = state.runnerByName(scopeKey, ctx.query.get('agentName') ?? '');
    return json(200, r ? { count: 1, value: [agentJson(r.id)] } : { count: 0, value: [] });
  }));
  add('GET', `${AGENTS}/{id}`, admin((ctx, scopeKey) => {
    const r = state.runnersById.get(Number(ctx.params.id));
    return r && r.scopeKey === scopeKey ? json(200, agentJson(r.id)) : svcError(404, 'AgentNotFoundException', `No runner with id ${ctx.params.id}`);
  }));
  add('DELETE', `${AGENTS}/{id}`, admin((ctx, scopeKey) => {
    const r = state.runnersById.get(Number(ctx.params.id));
    if (!r || r.scopeKey !== scopeKey) return svcError(404, 'AgentNotFoundException', `No runner with id ${ctx.params.id}`);
    return state.deleteRunner(r.id) === 'busy' ? svcError(400, 'JobStillRunningException', `Runner ${r.name} is running a job`) : { status: 204 };
  }));

  registerQueue(router, m);
}

function wireLabels(labels: unknown, name: string): { type: string; name: string }[] {
  const list = Array.isArray(labels) ? labels.map((l) => ({ type: String(l?.type ?? 'System'), name: String(l?.name ?? '') })).filter((l) => l.name) : [];
  return list.length ? list : [{ type: 'System', name }];
}

function sessionJson(m: ScaleSetModel, ss: ScaleSetRec, web: string): Record<string, unknown> {
  const s = ss.session!;
  return {
    sessionId: s.id, ownerName: s.owner, runnerScaleSet: setJson(m, ss), messageQueueUrl: `${web}/_queue/${ss.id}/${s.id}`,
    messageQueueAccessToken: s.queueToken, statistics: m.stats(ss),
  };
}

function registerQueue(router: Router, m: ScaleSetModel): void {
  const session = (ctx: Ctx) => {
    const q = m.byQueueToken(bearer(ctx));
    return q && q.ss.id === Number(ctx.params.ssid) && q.session.id === ctx.params.sid ? q : null;
  };
  router.add('GET', '/_queue/{ssid}/{sid}', async (ctx) => {
    const q = session(ctx);
    if (!q) return { status: 401, raw: Buffer.from('message queue token expired'), headers: { 'content-type': 'text/plain' } };
    const { ss, session: s } = q;
    const cap = ctx.req.headers['x-scalesetmaxcapacity'];
    ss.advertised.push(cap === undefined ? -1 : Number(cap));
    ss.polls++;
    if (m.faults.empty > 0) {
      m.faults.empty--;
      return { status: 200, raw: Buffer.alloc(0) };
    }
    if (m.faults.malformed > 0) {
      m.faults.malformed--;
      return { status: 200, raw: Buffer.from('{"messageId": 1, "body": '), headers: { 'content-type': 'application/json' } };
    }
    const last = Number(ctx.query.get('lastMessageId') ?? 0) || 0;
    s.polls++;
    try {
      if (m.faults.hang || !m.nextMessage(ss, last)) await m.wait(ss, m.holdMs, (cancel) => ctx.res.on('close', cancel));
    } finally {
      s.polls--;
      s.lastSeen = m.state.now();
    }
    const msg = ss.session?.id === s.id ? m.nextMessage(ss, last) : undefined;
    if (!msg) return { status: 202 };
    msg.deliveries++;
    return json(200, { messageId: msg.id, messageType: 'RunnerScaleSetJobMessages', body: JSON.stringify(msg.items), statistics: m.stats(ss) });
  }, 'actions');
  router.add('DELETE', '/_queue/{ssid}/{sid}/{mid}', (ctx) => {
    const q = session(ctx);
    if (!q) return { status: 401, raw: Buffer.from('message queue token expired'), headers: { 'content-type': 'text/plain' } };
    return m.ack(q.ss, Number(ctx.params.mid)) ? { status: 204 } : { status: 404, body: { message: 'no such message' } };
  }, 'actions');
}
