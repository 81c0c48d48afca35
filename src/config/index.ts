export * from './types.js';
export { ConfigError, isConfigError, formatIssue, formatIssues } from './errors.js';
export { loadConfig, checkConfigText, resolveConfigPath, DEFAULT_CONFIG_PATH } from './load.js';
export * from './names.js';
export { parseDuration, formatDuration } from './duration.js';
export { defaultApiUrl, mergeNetwork } from './normalize.js';
