import type { RequestStats } from './types.js';

export interface RequestRecord {
  method: string;
  /** Templated: /orgs/{org}/actions/runners */
  route: string;
  /** 0 when no HTTP answer came back (connection refused, DNS...). */
  status: number;
  durationMs: number;
  /**
   * 'actions': a runner scale-set call to the Actions service (admin connection, sessions, message
   * queue). Those do not consume the REST rate limit, so they are counted apart.
   */
  service?: 'rest' | 'actions';
}

/** Counts every HTTP attempt (retries included) by method, templated route and status. */
export class RequestCounter implements RequestStats {
  private counts = new Map<string, { route: string; status: number; count: number }>();
  private remaining: number | null = null;
  private sum = 0;
  private limited = 0;
  private actions = 0;

  record(r: RequestRecord, rateLimitRemaining?: string | number | null): void {
    const route = `${r.method} ${r.route}`;
    const key = `${route} ${r.status}`;
    const cur = this.counts.get(key) ?? { route, status: r.status, count: 0 };
    cur.count++;
    this.counts.set(key, cur);
    this.sum++;
    // A 304 is free on GitHub; a request that never got an answer cost nothing either.
    if (r.service === 'actions') this.actions++;
    else if (r.status !== 304 && r.status !== 0) this.limited++;
    const n = rateLimitRemaining === undefined || rateLimitRemaining === null ? NaN : Number(rateLimitRemaining);
    if (Number.isFinite(n)) this.remaining = n;
  }

  byRoute(): { route: string; status: number; count: number }[] {
    return [...this.counts.values()]
      .map((c) => ({ ...c }))
      .sort((a, b) => a.route.localeCompare(b.route) || a.status - b.status);
  }

  /** Count for one `METHOD /route` (any status unless given). */
  count(route: string, status?: number): number {
    return this.byRoute()
      .filter((c) => c.route === route && (status === undefined || c.status === status))
      .reduce((n, c) => n + c.count, 0);
  }

  rateLimited(): number {
    return this.limited;
  }

  /** Actions-service (scale set) calls: long polls, acks, sessions, JIT configs. */
  actionsService(): number {
    return this.actions;
  }

  total(): number {
    return this.sum;
  }

  rateLimitRemaining(): number | null {
    return this.remaining;
  }
}

/**
 * The route template of a request as octokit's hook sees it. Usually `options.url` is still the
 * template ('/orgs/{org}/actions/runners'); an absolute URL (a Link we followed, or a caller
 * passing one) is reduced to its path below the API base.
 */
export function templatedRoute(url: string, baseUrl: string | undefined): string {
  let path = url;
  if (/^https?:\/\//i.test(url)) {
    const u = new URL(url);
    path = u.pathname;
    const basePath = baseUrl ? new URL(baseUrl).pathname.replace(/\/$/, '') : '';
    if (basePath && path.startsWith(basePath + '/')) path = path.slice(basePath.length);
  }
  return path.split('?')[0] ?? path;
}
