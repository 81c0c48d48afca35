import type { Octokit } from '@octokit/core';
import { FleetError } from '../errors.js';
import { httpStatus, toFleetError } from './errors.js';
import { scopeKey, scopeRoute } from './scope.js';
import type { GitHubRunner, RunnerDownload, RunnerGroup, RunnerService, Scope, Token } from './types.js';

const PER_PAGE = 100;
/** A runaway Link chain stops here (100 000 runners). */
const MAX_PAGES = 1000;

/* eslint-disable @typescript-eslint/no-explicit-any -- GitHub JSON is mapped field by field below */
type Json = any;

interface CachedPage {
  etag: string;
  runners: GitHubRunner[];
  nextPage: number | null;
}

export function mapRunner(r: Json): GitHubRunner {
  return {
    id: r.id,
    name: r.name,
    os: r.os,
    status: r.status,
    busy: Boolean(r.busy),
    ephemeral: r.ephemeral,
    version: r.version ?? null,
    runnerGroupId: r.runner_group_id,
    labels: (r.labels ?? []).map((l: Json) => (typeof l === 'string' ? l : l.name)),
  };
}

function mapGroup(g: Json): RunnerGroup {
  return {
    id: g.id,
    name: g.name,
    allowsPublicRepositories: Boolean(g.allows_public_repositories),
    isDefault: Boolean(g.default),
  };
}

function toToken(data: Json): Token {
  return { token: data.token, expiresAt: Date.parse(data.expires_at) };
}

/** The page number of rel="next" in a Link header, if any. */
export function nextPage(link: string | undefined): number | null {
  if (!link) return null;
  for (const part of link.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (!m) continue;
    const page = Number(new URL(m[1]!, 'http://x').searchParams.get('page'));
    return Number.isInteger(page) && page > 0 ? page : null;
  }
  return null;
}

/** RunnerService over octokit; every call uses a route template so stats stay per route. */
export function createRunnerService(octokit: Octokit): RunnerService {
  const pages = new Map<string, CachedPage>();

  async function call<T = Json>(what: string, route: string, params: Record<string, unknown>): Promise<{ data: T; headers: Json }> {
    try {
      const res = await octokit.request(route, params);
      return { data: res.data as T, headers: res.headers };
    } catch (err) {
      throw toFleetError(err, what);
    }
  }

  /**
   * A GET answered from the last reply when GitHub says 304 (free: no rate limit): checks that
   * re-run on a schedule cost nothing while nothing changed.
   */
  const conditional = new Map<string, { etag: string; data: Json; headers: Json }>();
  async function getConditional(what: string, route: string, params: Record<string, unknown>): Promise<{ data: Json; headers: Json }> {
    const key = `${route}?${JSON.stringify(params)}`;
    const cached = conditional.get(key);
    try {
      const res = await octokit.request(route, { ...params, headers: cached ? { 'if-none-match': cached.etag } : {} });
      const etag = String(res.headers.etag ?? '');
      if (etag) conditional.set(key, { etag, data: res.data, headers: res.headers });
      else conditional.delete(key);
      return { data: res.data as Json, headers: res.headers };
    } catch (err) {
      if (httpStatus(err) === 304 && cached) return cached;
      throw toFleetError(err, what);
    }
  }

  async function fetchPage(scope: Scope, page: number): Promise<CachedPage> {
    const { prefix, params } = scopeRoute(scope);
    const key = `${scopeKey(scope)}#${page}`;
    const cached = pages.get(key);
    try {
      const res = await octokit.request(`GET ${prefix}/actions/runners`, {
        ...params,
        per_page: PER_PAGE,
        page,
        headers: cached ? { 'if-none-match': cached.etag } : {},
      });
      const fresh: CachedPage = {
        etag: String(res.headers.etag ?? ''),
        runners: ((res.data as Json).runners ?? []).map(mapRunner),
        nextPage: nextPage(res.headers.link),
      };
      if (fresh.etag) pages.set(key, fresh);
      else pages.delete(key);
      return fresh;
    } catch (err) {
      if (httpStatus(err) === 304 && cached) return cached;
      throw toFleetError(err, `list runners of ${scopeKey(scope)}`);
    }
  }

  return {
    async jitConfig(scope, req) {
      const { prefix, params } = scopeRoute(scope);
      const { data } = await call(`generate JIT config for ${req.name} in ${scopeKey(scope)}`, `POST ${prefix}/actions/runners/generate-jitconfig`, {
        ...params,
        name: req.name,
        runner_group_id: req.runnerGroupId,
        labels: req.labels,
        work_folder: req.workFolder ?? '_work',
      });
      return { runnerId: data.runner.id, encoded: data.encoded_jit_config };
    },

    async registrationToken(scope) {
      const { prefix, params } = scopeRoute(scope);
      const { data } = await call(`registration token for ${scopeKey(scope)}`, `POST ${prefix}/actions/runners/registration-token`, params);
      return toToken(data);
    },

    async removeToken(scope) {
      const { prefix, params } = scopeRoute(scope);
      const { data } = await call(`remove token for ${scopeKey(scope)}`, `POST ${prefix}/actions/runners/remove-token`, params);
      return toToken(data);
    },

    async listRunners(scope) {
      const all: GitHubRunner[] = [];
      let page: number | null = 1;
      for (let n = 0; page !== null && n < MAX_PAGES; n++) {
        const p: CachedPage = await fetchPage(scope, page);
        all.push(...p.runners);
        // A next page that does not move forward would loop forever.
        page = p.nextPage !== null && p.nextPage > page ? p.nextPage : null;
      }
      return dedupe(all);
    },

    async getRunner(scope, id) {
      const { prefix, params } = scopeRoute(scope);
      try {
        const res = await octokit.request(`GET ${prefix}/actions/runners/{runner_id}`, { ...params, runner_id: id });
        return mapRunner(res.data);
      } catch (err) {
        if (httpStatus(err) === 404) return null;
        throw toFleetError(err, `get runner ${id} of ${scopeKey(scope)}`);
      }
    },

    async deleteRunner(scope, id) {
      const { prefix, params } = scopeRoute(scope);
      try {
        await octokit.request(`DELETE ${prefix}/actions/runners/{runner_id}`, { ...params, runner_id: id });
        return 'deleted';
      } catch (err) {
        const status = httpStatus(err);
        if (status === 422) return 'busy';
        if (status === 404) return 'gone';
        throw toFleetError(err, `delete runner ${id} of ${scopeKey(scope)}`);
      }
    },

    async runnerGroup(scope, name) {
      if (scope.kind === 'repo') {
        // Repositories have no runner groups; their runners sit in Default (id 1).
        if (name.toLowerCase() === 'default') return { id: 1, name: 'Default', allowsPublicRepositories: false, isDefault: true };
        throw new FleetError('GITHUB_NOT_FOUND', `repository ${scope.owner}/${scope.repo} has no runner group "${name}"; repositories only have Default`);
      }
      const { prefix, params } = scopeRoute(scope);
      for (let page = 1; page <= MAX_PAGES; page++) {
        const { data, headers } = await getConditional(`runner groups of ${scopeKey(scope)}`, `GET ${prefix}/actions/runner-groups`, {
          ...params,
          per_page: PER_PAGE,
          page,
        });
        // The runner matches group names case-insensitively, so do we.
        const hit = (data.runner_groups ?? []).find((g: Json) => String(g.name).toLowerCase() === name.toLowerCase());
        if (hit) return mapGroup(hit);
        if (nextPage(headers.link) === null) break;
      }
      throw new FleetError('GITHUB_NOT_FOUND', `no runner group named "${name}" in ${scopeKey(scope)}`);
    },

    async repoVisibility(owner, repo) {
      const { data } = await getConditional(`read repository ${owner}/${repo}`, 'GET /repos/{owner}/{repo}', { owner, repo });
      if (data.visibility === 'public' || data.visibility === 'private' || data.visibility === 'internal') return data.visibility;
      return data.private ? 'private' : 'public';
    },

    async downloads(scope) {
      const { prefix, params } = scopeRoute(scope);
      const { data } = await call(`runner downloads for ${scopeKey(scope)}`, `GET ${prefix}/actions/runners/downloads`, params);
      return (data as Json[]).map(
        (d): RunnerDownload => ({
          os: d.os,
          architecture: d.architecture,
          downloadUrl: d.download_url,
          filename: d.filename,
          ...(d.sha256_checksum ? { sha256: d.sha256_checksum } : {}),
          ...(d.temp_download_token ? { tempDownloadToken: d.temp_download_token } : {}),
        }),
      );
    },
  };
}

/** Pages can shift while we walk them (a runner added on page 1 pushes one onto page 2). */
function dedupe(runners: GitHubRunner[]): GitHubRunner[] {
  const seen = new Map<number, GitHubRunner>();
  for (const r of runners) seen.set(r.id, r);
  return [...seen.values()];
}
