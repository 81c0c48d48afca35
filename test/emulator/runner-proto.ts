/**
 * The runner side of the emulator: `POST {api}/actions/runner-registration` (real, RemoteAuth) and a
 * small private protocol under /_runner used by the fake runner (agents, sessions, long-poll, jobs).
 *
 *   POST   /_runner/agents                 Bearer <tenant token>  register (409 exists, 404 unknown group)
 *   DELETE /_runner/agents/{id}            Bearer <tenant token>  remove (422 busy)
 *   POST   /_runner/sessions               Bearer <clientId>      200 {sessionId} | 404 gone | 409 conflict | 426 deprecated
 *   DELETE /_runner/sessions/{sid}         Bearer <clientId>      go offline
 *   GET    /_runner/sessions/{sid}/message Bearer <clientId>      long-poll: 200 job | 204 nothing | 410 registration deleted
 *   GET    /_runner/jobs/{id}/lock         Bearer <clientId>      held open while the job runs; a dropped lock = runner lost
 *   POST   /_runner/jobs/{id}/complete     Bearer <clientId>      {conclusion, output}
 */
import { randomBytes } from 'node:crypto';
import { error, json, type Ctx, type Reply, type Router } from './http.js';
import type { EmuState, RunnerRec } from './state.js';
import { gitHubUrlOf } from './rest.js';

const BOM = '\uFEFF';
const saveObject = (o: unknown): string => BOM + JSON.stringify(o, null, 2);

export function runnerFileObjects(r: RunnerRec, o: { serverUrl: string; gitHubUrl: string; workFolder: string; poolName: string }): Record<string, unknown> {
  const rsa = Object.fromEntries(
    ['d', 'dp', 'dq', 'exponent', 'inverseQ', 'modulus', 'p', 'q'].map((k) => [k, randomBytes(k === 'exponent' ? 3 : 128).toString('base64')]),
  );
  return {
    '.runner': {
      agentId: r.id, agentName: r.name, poolId: r.groupId, poolName: o.poolName, serverUrl: o.serverUrl,
      gitHubUrl: o.gitHubUrl, workFolder: o.workFolder, ...(r.ephemeral ? { ephemeral: true } : {}),
      ...(r.disableUpdate ? { disableUpdate: true } : {}),
    },
    '.credentials': { scheme: 'OAuth', data: { clientId: r.clientId, authorizationUrl: `${o.serverUrl}/oauth2/token`, requireFipsCryptography: 'False' } },
    '.credentials_rsaparams': rsa,
  };
}

/** base64 of `{ "<file>": "<base64 content>" }`, as GitHub's generate-jitconfig returns. */
export function encodeJitConfig(r: RunnerRec, o: { serverUrl: string; gitHubUrl: string; workFolder: string; poolName: string }): string {
  const files = runnerFileObjects(r, o);
  const enc = Object.fromEntries(Object.entries(files).map(([k, v]) => [k, Buffer.from(saveObject(v), 'utf8').toString('base64')]));
  return Buffer.from(JSON.stringify(enc), 'utf8').toString('base64');
}

/** `https://host/OWNER/REPO`, `https://host/ORG` or `https://host/enterprises/ENT` → scope key. */
export function scopeFromUrl(url: string): { kind: 'repo' | 'org' | 'enterprise'; name: string; key: string } | null {
  let parts: string[];
  try {
    parts = new URL(url).pathname.split('/').filter(Boolean);
  } catch {
    return null;
  }
  if (parts[0] === 'enterprises' && parts.length === 2) return { kind: 'enterprise', name: parts[1]!, key: `enterprise:${parts[1]}` };
  if (parts.length === 1) return { kind: 'org', name: parts[0]!, key: `org:${parts[0]}` };
  if (parts.length === 2) return { kind: 'repo', name: parts.join('/'), key: `repo:${parts.join('/')}` };
  return null;
}

const bearer = (ctx: Ctx): string => /^(?:bearer|token)\s+(.+)$/i.exec(ctx.req.headers.authorization ?? '')?.[1]?.trim() ?? '';

export function registerRunnerProtocol(router: Router, state: EmuState, webUrl: () => string, pollTimeoutMs: number): void {
  router.add('POST', '/actions/runner-registration', (ctx) => {
    const token = /^RemoteAuth\s+(.+)$/i.exec(ctx.req.headers.authorization ?? '')?.[1]?.trim() ?? '';
    const scope = scopeFromUrl(String(ctx.body?.url ?? ''));
    const kinds = ctx.body?.runner_event === 'remove' ? (['remove', 'registration'] as const) : (['registration'] as const);
    const t = state.liveToken(token, [...kinds]);
    // GitHub answers an expired or wrong token with 404, which the runner reports as "NotFound".
    if (!scope || !t || t.scopeKey !== scope.key || !state.scopes.has(scope.key)) return error(404, 'Not Found');
    // The service token (a JWT, like GitHub's admin token) lives independently of tokenTtlMs.
    const tenant = state.issueJwt('tenant', { scopeKey: scope.key }, state.adminTokenTtlMs);
    return json(200, { url: `${webUrl()}/_runner`, token_schema: 'OAuthAccessToken', token: tenant.token, use_v2_flow: false });
  }, 'runner');

  const tenantScope = (ctx: Ctx): string | null => state.liveToken(bearer(ctx), ['tenant'])?.scopeKey ?? null;

  router.add('POST', '/_runner/agents', (ctx) => {
    const scopeKey = tenantScope(ctx);
    if (!scopeKey) return error(401, 'Unauthorized');
    const b = ctx.body ?? {};
    const groupName = b.groupName || 'Default';
    const group = state.groupsOf(scopeKey.startsWith('repo:') ? '' : scopeKey).find((g) => g.name.toLowerCase() === String(groupName).toLowerCase());
    if (!group) return error(404, `Could not find any self-hosted runner group named "${groupName}".`);
    const old = state.runnerByName(scopeKey, b.name);
    if (old && !b.replace) return error(409, `A runner exists with the same name ${b.name}.`);
    if (old) state.removeRunner(old);
    const labels = (b.labels as { name: string; type: 'read-only' | 'custom' }[]) ?? [];
    const r = state.createRunner({
      scopeKey, name: b.name, groupId: group.id, ephemeral: !!b.ephemeral, disableUpdate: !!b.disableUpdate, os: b.os ?? 'linux', version: b.version ?? null,
      labels: state.labelRecs(labels.map((l) => l.name), false, labels.filter((l) => l.type === 'read-only').map((l) => l.name)),
    });
    const [kind, name] = [scopeKey.split(':')[0]!, scopeKey.slice(scopeKey.indexOf(':') + 1)];
    return json(200, {
      id: r.id, name: r.name, clientId: r.clientId, poolId: group.id, poolName: group.name, ephemeral: r.ephemeral,
      disableUpdate: r.disableUpdate, serverUrl: `${webUrl()}/_runner`, gitHubUrl: gitHubUrlOf(webUrl(), { kind, name }),
    });
  }, 'runner');

  router.add('DELETE', '/_runner/agents/{id}', (ctx) => {
    const scopeKey = tenantScope(ctx);
    if (!scopeKey) return error(401, 'Unauthorized');
    const r = state.runnersById.get(Number(ctx.params.id));
    if (!r || r.scopeKey !== scopeKey) return error(404, 'Not Found');
    const res = state.deleteRunner(r.id);
    return res === 'busy' ? error(422, `Bad request - Runner "${r.name}" is still running a job`) : { status: 204 };
  }, 'runner');

  const withRunner = (fn: (ctx: Ctx, r: RunnerRec) => Reply | Promise<Reply>, goneStatus = 404) => (ctx: Ctx) => {
    const r = state.runnerByClientId(bearer(ctx));
    return r ? fn(ctx, r) : error(goneStatus, 'Runner not found (registration deleted)');
  };

  router.add('POST', '/_runner/sessions', withRunner((ctx, r) => {
    const version = ctx.body?.version ?? null;
    if (version && state.deprecatedVersions.has(version)) return error(426, `Runner version v${version} is deprecated and cannot receive messages.`);
    const s = state.openSession(r);
    if (s === 'conflict') return error(409, `A session for this runner already exists.`);
    r.version = version ?? r.version;
    r.os = ctx.body?.os ?? r.os;
    return json(200, { sessionId: s.id });
  }), 'runner');

  router.add('DELETE', '/_runner/sessions/{sid}', withRunner((ctx, r) => {
    if (r.session?.id === ctx.params.sid) state.closeSession(r);
    return { status: 204 };
  }), 'runner');

  router.add('GET', '/_runner/sessions/{sid}/message', withRunner(async (ctx, r) => {
    if (r.session?.id !== ctx.params.sid) return error(404, 'Session not found');
    const timeout = Math.min(Number(ctx.query.get('timeoutMs') ?? pollTimeoutMs) || pollTimeoutMs, 60_000);
    const { result, cancel } = state.poll(r, timeout);
    ctx.res.on('close', cancel);
    const res = await result;
    if (res.kind === 'deleted') return error(410, 'Runner OAuth token has been revoked.');
    if (res.kind === 'timeout') return { status: 204 };
    const j = res.job;
    return json(200, { type: 'job', job: { id: j.id, name: j.name, labels: j.labels, script: j.script ?? null, durationMs: j.durationMs ?? null } });
  }, 410), 'runner');

  router.add('GET', '/_runner/jobs/{id}/lock', withRunner((ctx, r) => {
    const job = state.jobsById.get(Number(ctx.params.id));
    if (!job || job.runnerId !== r.id) return error(404, 'Not Found');
    if (job.status === 'completed') return json(200, { status: job.status });
    return new Promise<Reply>((resolve) => {
      const onJob = (_a: string, j: { id: number; status: string }): void => {
        if (j.id !== job.id || j.status !== 'completed') return;
        state.off('job', onJob);
        resolve(json(200, { status: 'completed' }));
      };
      state.on('job', onJob);
      ctx.res.on('close', () => {
        state.off('job', onJob);
        // The runner went away mid-job (killed): GitHub fails the job and the runner drops offline.
        if (job.status !== 'completed' && !ctx.res.writableEnded) {
          const live = state.runnersById.get(r.id);
          if (live) live.session = null;
          state.completeJob(job, 'failure', `${job.output}The runner has lost communication with the server.\n`);
        }
      });
    });
  }), 'runner');

  router.add('POST', '/_runner/jobs/{id}/complete', withRunner((ctx, r) => {
    const job = state.jobsById.get(Number(ctx.params.id));
    if (!job || job.runnerId !== r.id) return error(404, 'Not Found');
    const c = ctx.body?.conclusion;
    state.completeJob(job, c === 'success' || c === 'cancelled' ? c : 'failure', String(ctx.body?.output ?? ''));
    return json(200, { ok: true });
  }), 'runner');
}
