/** The documented REST routes (docs/runner-facts.md §3). Auth, rate limits and faults are applied by server.ts. */
import { createHash } from 'node:crypto';
import { error, json, scopeOf, type Ctx, type Handler, type Reply, type Router } from './http.js';
import type { EmuState, RunnerRec } from './state.js';
import type { Releases } from './release.js';
import { encodeJitConfig } from './runner-proto.js';

export interface RestDeps {
  state: EmuState;
  releases: Releases;
  /** Web URL of the emulator (http://127.0.0.1:PORT). */
  webUrl: () => string;
}

/** Checks the scope exists and the caller may act on it. */
function scoped(deps: RestDeps, handler: (ctx: Ctx, scope: ReturnType<typeof scopeOf>) => Reply | Promise<Reply>): Handler {
  return (ctx) => {
    const scope = scopeOf(ctx.params);
    if (!deps.state.scopes.has(scope.key)) return error(404, 'Not Found');
    if (ctx.auth?.kind === 'installation') {
      if (scope.kind === 'enterprise') return error(403, 'Resource not accessible by integration');
      const owner = scope.kind === 'org' ? scope.name : scope.name.split('/')[0];
      if (owner !== ctx.auth.account) return error(404, 'Not Found');
    }
    return handler(ctx, scope);
  };
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '.000Z');

export function registerRest(router: Router, deps: RestDeps): void {
  const { state } = deps;
  const runnerIn = (scopeKey: string, id: string): RunnerRec | undefined => {
    const r = state.runnersById.get(Number(id));
    return r && r.scopeKey === scopeKey ? r : undefined;
  };

  for (const kind of ['registration', 'remove'] as const) {
    router.addScoped('POST', `/actions/runners/${kind}-token`, scoped(deps, (_ctx, scope) => {
      const t = state.issueToken(kind, { scopeKey: scope.key });
      return json(201, { token: t.token, expires_at: iso(t.expiresAt) });
    }));
  }

  router.addScoped('POST', '/actions/runners/generate-jitconfig', scoped(deps, (ctx, scope) => {
    const b = ctx.body ?? {};
    if (typeof b.name !== 'string' || !b.name) return error(422, 'Invalid request.\n\n"name" wasn\'t supplied.');
    if (!Array.isArray(b.labels) || b.labels.length < 1 || b.labels.length > 100 || b.labels.some((l: unknown) => typeof l !== 'string' || !l || l.length > 256)) {
      return error(422, 'Invalid request.\n\n"labels" must have between 1 and 100 items.');
    }
    if (typeof b.runner_group_id !== 'number') return error(422, 'Invalid request.\n\n"runner_group_id" wasn\'t supplied.');
    const groupKey = scope.kind === 'repo' ? '' : scope.key;
    const group = state.groupsOf(groupKey).find((g) => g.id === b.runner_group_id);
    if (!group) return error(404, `Could not find runner group with id ${b.runner_group_id}`);
    if (state.runnerByName(scope.key, b.name)) return error(409, `Already exists - A runner with the name ${b.name} already exists.`);
    const r = state.createRunner({
      scopeKey: scope.key, name: b.name, labels: state.labelRecs(b.labels, true), groupId: group.id,
      ephemeral: true, disableUpdate: false, os: 'unknown',
    });
    const encoded = encodeJitConfig(r, {
      serverUrl: `${deps.webUrl()}/_runner`, gitHubUrl: gitHubUrlOf(deps.webUrl(), scope),
      workFolder: typeof b.work_folder === 'string' ? b.work_folder : '_work', poolName: group.name,
    });
    return json(201, { runner: state.toJson(r), encoded_jit_config: encoded });
  }));

  router.addScoped('GET', '/actions/runners', scoped(deps, (ctx, scope) => listRunners(deps, ctx, scope.key)));

  router.addScoped('GET', '/actions/runners/downloads', scoped(deps, () => json(200, deps.releases.downloads(deps.releases.latest()))));

  router.addScoped('GET', '/actions/runners/{runner_id}', scoped(deps, (ctx, scope) => {
    const r = runnerIn(scope.key, ctx.params.runner_id!);
    return r ? json(200, state.toJson(r)) : error(404, 'Not Found');
  }));

  router.addScoped('DELETE', '/actions/runners/{runner_id}', scoped(deps, (ctx, scope) => {
    const r = runnerIn(scope.key, ctx.params.runner_id!);
    if (!r) return error(404, 'Not Found');
    const res = state.deleteRunner(r.id);
    if (res === 'busy') return error(422, `Bad request - Runner "${r.name}" is still running a job`);
    return { status: 204 };
  }));

  registerLabels(router, deps, runnerIn);

  router.add('GET', '/repos/{owner}/{repo}', scoped(deps, (ctx, scope) => {
    const vis = state.scopes.get(scope.key)!.visibility ?? 'private';
    const [owner, name] = scope.name.split('/') as [string, string];
    return conditionalJson(ctx, {
      id: hashId(scope.name), name, full_name: scope.name, private: vis !== 'public', visibility: vis,
      owner: { login: owner, type: 'Organization' }, html_url: `${deps.webUrl()}/${scope.name}`,
    });
  }));

  for (const base of ['/orgs/{org}', '/enterprises/{enterprise}']) {
    router.add('GET', `${base}/actions/runner-groups`, scoped(deps, (ctx, scope) => {
      const groups = state.groupsOf(scope.key).map((g) => groupJson(ctx, scope.key, g));
      return conditionalJson(ctx, { total_count: groups.length, runner_groups: groups });
    }));
    router.add('GET', `${base}/actions/runner-groups/{runner_group_id}`, scoped(deps, (ctx, scope) => {
      const g = state.groupsOf(scope.key).find((x) => x.id === Number(ctx.params.runner_group_id));
      return g ? json(200, groupJson(ctx, scope.key, g)) : error(404, 'Not Found');
    }));
  }
}

/** 200 with an ETag, or 304 (free on GitHub) when If-None-Match still matches. */
function conditionalJson(ctx: Ctx, body: unknown): Reply {
  const etag = `W/"${createHash('sha1').update(JSON.stringify(body)).digest('hex')}"`;
  const inm = ctx.req.headers['if-none-match'];
  if (inm && inm.split(',').map((s) => s.trim()).includes(etag)) return { status: 304, headers: { etag } };
  return json(200, body, { etag });
}

function listRunners(deps: RestDeps, ctx: Ctx, scopeKey: string): Reply {
  const perPage = Math.min(100, Math.max(1, Number(ctx.query.get('per_page') ?? 30) || 30));
  const page = Math.max(1, Number(ctx.query.get('page') ?? 1) || 1);
  const name = ctx.query.get('name');
  const all = [...deps.state.runnersById.values()]
    .filter((r) => r.scopeKey === scopeKey && (name === null || r.name === name))
    .sort((a, b) => a.id - b.id);
  const body = { total_count: all.length, runners: all.slice((page - 1) * perPage, page * perPage).map((r) => deps.state.toJson(r)) };
  const etag = `W/"${createHash('sha1').update(JSON.stringify(body)).digest('hex')}"`;
  const headers: Record<string, string> = { etag };
  const link = linkHeader(ctx, page, Math.max(1, Math.ceil(all.length / perPage)), perPage);
  if (link) headers.link = link;
  const inm = ctx.req.headers['if-none-match'];
  if (inm && inm.split(',').map((s) => s.trim()).includes(etag)) return { status: 304, headers };
  return json(200, body, headers);
}

function linkHeader(ctx: Ctx, page: number, last: number, perPage: number): string {
  const at = (p: number): string => {
    const q = new URLSearchParams(ctx.query);
    q.set('per_page', String(perPage));
    q.set('page', String(p));
    return `<${ctx.base}${ctx.path}?${q.toString()}>`;
  };
  const parts: string[] = [];
  if (page > 1) parts.push(`${at(page - 1)}; rel="prev"`);
  if (page < last) parts.push(`${at(page + 1)}; rel="next"`, `${at(last)}; rel="last"`);
  if (page > 1) parts.push(`${at(1)}; rel="first"`);
  return parts.join(', ');
}

function registerLabels(router: Router, deps: RestDeps, runnerIn: (k: string, id: string) => RunnerRec | undefined): void {
  const { state } = deps;
  const labelsReply = (r: RunnerRec): Reply => json(200, { total_count: r.labels.length, labels: r.labels });
  const withRunner = (fn: (ctx: Ctx, r: RunnerRec) => Reply): Handler =>
    scoped(deps, (ctx, scope) => {
      const r = runnerIn(scope.key, ctx.params.runner_id!);
      return r ? fn(ctx, r) : error(404, 'Not Found');
    });
  const bodyLabels = (ctx: Ctx, min: number): string[] | null => {
    const l = ctx.body?.labels;
    return Array.isArray(l) && l.length >= min && l.length <= 100 && l.every((x) => typeof x === 'string' && x) ? l : null;
  };
  const p = '/actions/runners/{runner_id}/labels';
  router.addScoped('GET', p, withRunner((_ctx, r) => labelsReply(r)));
  router.addScoped('POST', p, withRunner((ctx, r) => {
    const add = bodyLabels(ctx, 1);
    if (!add) return error(422, 'Validation Failed');
    r.labels = [...r.labels, ...state.labelRecs(add, false).filter((l) => !r.labels.some((x) => x.name.toLowerCase() === l.name.toLowerCase()))];
    state.emit('change');
    return labelsReply(r);
  }));
  router.addScoped('PUT', p, withRunner((ctx, r) => {
    const set = bodyLabels(ctx, 0);
    if (!set) return error(422, 'Validation Failed');
    r.labels = [...r.labels.filter((l) => l.type === 'read-only'), ...state.labelRecs(set, false)];
    state.emit('change');
    return labelsReply(r);
  }));
  router.addScoped('DELETE', p, withRunner((_ctx, r) => {
    r.labels = r.labels.filter((l) => l.type === 'read-only');
    state.emit('change');
    return labelsReply(r);
  }));
  router.addScoped('DELETE', `${p}/{name}`, withRunner((ctx, r) => {
    const i = r.labels.findIndex((l) => l.name === ctx.params.name && l.type === 'custom');
    if (i < 0) return error(404, 'Not Found');
    r.labels.splice(i, 1);
    state.emit('change');
    return labelsReply(r);
  }));
}

function groupJson(ctx: Ctx, scopeKey: string, g: { id: number; name: string; allowsPublicRepositories: boolean; isDefault: boolean }): Record<string, unknown> {
  const base = `${ctx.base}/${scopeKey.startsWith('org:') ? 'orgs' : 'enterprises'}/${scopeKey.split(':')[1]}/actions/runner-groups/${g.id}`;
  return {
    id: g.id, name: g.name, visibility: 'all', default: g.isDefault, runners_url: `${base}/runners`,
    selected_repositories_url: `${base}/repositories`, inherited: false, allows_public_repositories: g.allowsPublicRepositories,
    restricted_to_workflows: false, selected_workflows: [], workflow_restrictions_read_only: false,
  };
}

export function gitHubUrlOf(webUrl: string, scope: { kind: string; name: string }): string {
  return scope.kind === 'enterprise' ? `${webUrl}/enterprises/${scope.name}` : `${webUrl}/${scope.name}`;
}

const hashId = (s: string): number => createHash('sha1').update(s).digest().readUInt32BE(0) % 1_000_000_000;
