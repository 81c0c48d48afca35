export { createGitHubClient, type GitHubClient, type GitHubClientOptions } from './client.js';
export { TokenCache, withTokenCache, type TokenCacheOptions, type TokenKind, type RefreshResult } from './tokens.js';
export { scopeKey, scopeRoute } from './scope.js';
export { RequestCounter, type RequestRecord } from './stats.js';
export { toFleetError, isRateLimitError } from './errors.js';
export type * from './types.js';
