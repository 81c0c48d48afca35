import type { Scope } from '../config/types.js';

/** Stable key for a scope, used in the store and in status: org:acme, repo:o/r, enterprise:e. */
export { scopeKey } from '../config/names.js';

/**
 * The templated path prefix and its parameters. Requests keep the template so that octokit
 * expands (and escapes) the values and request stats stay per route, not per org.
 */
export function scopeRoute(scope: Scope): { prefix: string; params: Record<string, string> } {
  switch (scope.kind) {
    case 'org':
      return { prefix: '/orgs/{org}', params: { org: scope.org } };
    case 'repo':
      return { prefix: '/repos/{owner}/{repo}', params: { owner: scope.owner, repo: scope.repo } };
    case 'enterprise':
      return { prefix: '/enterprises/{enterprise}', params: { enterprise: scope.enterprise } };
  }
}
