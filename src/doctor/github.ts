import fs from 'node:fs';
import path from 'node:path';
import type { GitHubAuth, PoolConfig, Scope } from '../config/types.js';
import { isFleetError } from '../errors.js';
import { plural } from '../plural.js';
import { versionOf } from '../runner/download.js';
import { hostArch } from '../runner/arch.js';
import { classifyNetError, hintFor } from '../net/classify.js';
import { fail, failedDep, ok, skip, warn, type Check, type CheckResult, type DoctorContext } from './types.js';

export const DEFAULT_TIMEOUT_MS = 5000;
const timeoutOf = (ctx: DoctorContext) => ctx.timeoutMs ?? DEFAULT_TIMEOUT_MS;

/** A failed row carrying the classified cause of a network error. */
function netFail(name: string, err: unknown, target: string, hint?: string): CheckResult {
  const f = classifyNetError(err, target);
  return { name, status: 'fail', detail: f.detail, hint: hint ?? hintFor(f.cause, target), cause: f.cause };
}

/**
 * Any HTTP answer from github.apiUrl proves DNS, TCP, TLS and the proxy; every GitHub check
 * after this one is skipped when it fails, so one cause is reported once, with its own fix.
 */
export const checkGitHubApi: Check = async (ctx) => {
  const name = 'github api';
  const url = ctx.cfg.github.apiUrl;
  const host = safeHost(url);
  const f = ctx.fetch ?? fetch;
  try {
    const res = await f(url, { method: 'GET', signal: AbortSignal.timeout(timeoutOf(ctx)), headers: { accept: 'application/json' } });
    await res.body?.cancel().catch(() => undefined);
    if (res.status === 407) return [{ ...fail(name, 'proxy: the proxy answered 407 (proxy authentication required)', hintFor('proxy', host)), cause: 'proxy' }];
    if (res.status >= 500) return [{ ...fail(name, `http: ${url} answered HTTP ${res.status}`, hintFor('http', host)), cause: 'http' }];
    return [ok(name, `${url} reachable (HTTP ${res.status})`)];
  } catch (err) {
    return [netFail(name, err, host)];
  }
};

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

const apiDown = (ctx: DoctorContext): CheckResult | undefined => failedDep(ctx, 'github-api');
const skipped = (name: string, dep: CheckResult) => skip(name, `not checked: ${dep.name} failed (${dep.cause ?? 'see above'})`);

export function scopeLabel(s: Scope): string {
  return s.kind === 'org' ? `org ${s.org}` : s.kind === 'repo' ? `repo ${s.owner}/${s.repo}` : `enterprise ${s.enterprise}`;
}

function distinctScopes(pools: PoolConfig[]): Scope[] {
  const seen = new Map<string, Scope>();
  for (const p of pools) seen.set(scopeLabel(p.scope), p.scope);
  return [...seen.values()];
}

/** What the credential needs per scope (docs/runner-facts.md §3). */
export function permissionHint(auth: GitHubAuth['kind'], scope: Scope): string {
  if (auth === 'app') {
    if (scope.kind === 'repo') return `the GitHub App needs Repository permission "Administration: write" and must be installed on ${scope.owner}/${scope.repo}`;
    if (scope.kind === 'org') return `the GitHub App needs Organization permission "Self-hosted runners: write" and must be installed on ${scope.org}`;
    return 'GitHub Apps cannot manage enterprise runners: use a PAT with manage_runners:enterprise';
  }
  if (scope.kind === 'repo') return `the token needs the "repo" scope (public_repo for a public repo) and its user admin rights on ${scope.owner}/${scope.repo}`;
  if (scope.kind === 'org') return `the token needs the "admin:org" scope (plus "repo" for private repos) and its user must be an owner of ${scope.org}`;
  return `the token needs the "manage_runners:enterprise" scope and its user must be an enterprise admin of ${scope.enterprise}`;
}

const noClient = (): CheckResult[] => [fail('github', 'no GitHub client', 'check github.auth (token, tokenFile or app)')];

/** A registration-token call per scope proves both the credential and its permission. */
export const checkGitHubCredentials: Check = async (ctx) => {
  if (!ctx.github) return noClient();
  const scopes = distinctScopes(ctx.cfg.pools);
  if (scopes.length === 0) return [ok('github', 'no pools configured')];
  const down = apiDown(ctx);
  if (down) return scopes.map((s) => skipped(`github ${scopeLabel(s)}`, down));
  return Promise.all(scopes.map(async (scope) => {
    const name = `github ${scopeLabel(scope)}`;
    try {
      await ctx.github!.registrationToken(scope);
      return ok(name, 'registration token issued');
    } catch (err) {
      return netFail(name, err, safeHost(ctx.cfg.github.apiUrl), credentialHint(ctx, scope, err));
    }
  }));
};

function credentialHint(ctx: DoctorContext, scope: Scope, err: unknown): string {
  const perm = permissionHint(ctx.cfg.github.auth.kind, scope);
  if (isFleetError(err, 'GITHUB_AUTH')) return `${perm}; a 401 means the token is wrong or expired`;
  if (isFleetError(err, 'GITHUB_NOT_FOUND')) return `check the ${scope.kind} name; GitHub answers 404 when the credential may not see it: ${perm}`;
  if (isFleetError(err, 'GITHUB_RATE_LIMITED')) return 'rate limited: wait for the reset, or use a GitHub App (higher limits)';
  const f = classifyNetError(err);
  if (f.cause !== 'http' && f.cause !== 'permission') return hintFor(f.cause, safeHost(ctx.cfg.github.apiUrl));
  return `check github.apiUrl (${ctx.cfg.github.apiUrl}), network.proxy and network.caFile ("unknown authority" means the internal CA is missing)`;
}

/** A public repo can send a fork's pull request to these runners: refuse unless the pool opts in. */
export const checkPublicExposure: Check = async (ctx) => {
  if (!ctx.github) return noClient();
  return Promise.all(ctx.cfg.pools.map(async (pool) => {
    const name = `exposure ${pool.name}`;
    // Permission advice only makes sense once the credential itself worked for this scope.
    const dep = apiDown(ctx) ?? ctx.prior?.get('github')?.find((r) => r.name === `github ${scopeLabel(pool.scope)}` && r.status === 'fail');
    if (dep) return skipped(name, dep);
    try {
      return await exposureOf(ctx, pool, name);
    } catch (err) {
      const f = classifyNetError(err, safeHost(ctx.cfg.github.apiUrl));
      const hint = f.cause === 'permission' ? permissionHint(ctx.cfg.github.auth.kind, pool.scope) : hintFor(f.cause, safeHost(ctx.cfg.github.apiUrl));
      return { ...warn(name, `could not check: ${f.detail}`, hint), cause: f.cause };
    }
  }));
}

async function exposureOf(ctx: DoctorContext, pool: PoolConfig, name: string): Promise<CheckResult> {
  const s = pool.scope;
  if (s.kind === 'repo') {
    const vis = await ctx.github!.repoVisibility(s.owner, s.repo);
    if (vis !== 'public') return ok(name, `${s.owner}/${s.repo} is ${vis}`);
    if (pool.allowPublicRepos) return warn(name, `${s.owner}/${s.repo} is public and allowPublicRepos is set: pull requests from forks can run on this host`, 'require approval for fork workflows in the repo settings');
    return fail(name, `${s.owner}/${s.repo} is public; the daemon refuses this pool`, 'make the repository private, or set allowPublicRepos: true if untrusted code on this host is acceptable');
  }
  const group = await ctx.github!.runnerGroup(s, pool.runnerGroup);
  if (!group.allowsPublicRepositories) return ok(name, `runner group "${group.name}" does not allow public repositories`);
  if (pool.allowPublicRepos) return warn(name, `runner group "${group.name}" allows public repositories (allowPublicRepos is set)`, 'require approval for fork workflows');
  return fail(name, `runner group "${group.name}" of ${scopeLabel(s)} allows public repositories`, `turn off "Allow public repositories" for the group (Settings → Actions → Runner groups), or set allowPublicRepos: true on pool ${pool.name}`);
}

const DAY = 86_400_000;
const cmp = (a: string, b: string) => {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
};

/** Newest version present in the cache, or the pinned one. */
function currentVersion(ctx: DoctorContext): string | null {
  const { runner, host } = ctx.cfg;
  if (runner.version !== 'latest') return runner.version;
  const dir = path.join(host.dataDir, 'cache', 'runner');
  const cached = (fs.existsSync(dir) ? fs.readdirSync(dir) : []).filter((v) => /^\d+\.\d+\.\d+$/.test(v));
  return cached.sort(cmp).at(-1) ?? null;
}

/**
 * GitHub stops queueing jobs to a runner not updated within 30 days of a release (docs/runner-facts.md §5).
 * The downloads API gives no release date, so the first time this host saw a version stands in.
 */
export const checkRunnerVersion: Check = async (ctx) => {
  const name = 'runner version';
  const scope = ctx.cfg.pools[0]?.scope;
  const current = currentVersion(ctx);
  const cachedNote = current && fs.existsSync(path.join(ctx.cfg.host.dataDir, 'cache', 'runner', current)) ? 'cached' : 'not downloaded yet';
  const down = apiDown(ctx);
  if (!ctx.github || !scope || down) {
    const why = down ? `latest not checked: ${down.name} failed (${down.cause ?? 'see above'})` : 'latest not checked';
    return [current ? ok(name, `${current} (${cachedNote}); ${why}`) : down ? skip(name, `no runner cached; ${why}`) : warn(name, 'no runner cached', 'runner-fleet runner download')];
  }
  let latest: string | null;
  try {
    const arch = ctx.arch ?? hostArch();
    const entry = (await ctx.github.downloads(scope)).find((d) => d.os === 'linux' && d.architecture === arch);
    latest = entry ? versionOf(entry.filename) : null;
  } catch (err) {
    const f = classifyNetError(err, safeHost(ctx.cfg.github.apiUrl));
    return [{ ...warn(name, `cannot read runners/downloads: ${f.detail}`), cause: f.cause }];
  }
  if (!latest) return [warn(name, 'runners/downloads offers no linux runner for this arch')];
  if (!current) return [warn(name, `nothing cached; latest is ${latest}`, 'runner-fleet runner download')];
  if (cmp(current, latest) >= 0) return [cachedNote === 'cached' ? ok(name, `${current} is the latest`) : warn(name, `${current} is the latest but not downloaded yet`, 'runner-fleet runner download')];
  const key = `runner.release.firstSeen.${latest}`;
  let seen = Number(ctx.store?.meta.get(key) ?? NaN);
  if (!Number.isFinite(seen)) {
    seen = ctx.now();
    ctx.store?.meta.set(key, String(seen));
  }
  const days = Math.floor((ctx.now() - seen) / DAY);
  const fix = ctx.cfg.runner.version === 'latest' ? 'runner-fleet runner download; the daemon rolls idle runners on runner.updateSchedule' : `pin runner.version: ${latest} (with its sha256)`;
  if (days >= 30) return [fail(name, `${current} is behind ${latest}, released ${days}+ days ago: GitHub stops queueing jobs to it`, fix)];
  return [warn(name, `${current} is behind ${latest} (seen ${plural(days, 'day')} ago; ${plural(30 - days, 'day')} left before GitHub stops queueing jobs)`, fix)];
};
