import { FleetError } from '../errors.js';
import type { ConfigIssue } from './types.js';

/** CONFIG_INVALID with every problem found, so callers can print them all at once. */
export class ConfigError extends FleetError {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    const first = issues[0];
    const head = first ? formatIssue(first) : 'invalid configuration';
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    super('CONFIG_INVALID', head + more);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export function isConfigError(err: unknown): err is ConfigError {
  return err instanceof ConfigError;
}

export function formatIssue(i: ConfigIssue): string {
  return `${i.file}:${i.line}:${i.col}: ${i.path || '(root)'}: ${i.message}`;
}

/** One line per issue, in file order, as compilers print them. */
export function formatIssues(issues: ConfigIssue[]): string {
  return sortIssues(issues).map(formatIssue).join('\n');
}

export function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return [...issues].sort((a, b) => a.line - b.line || a.col - b.col || a.path.localeCompare(b.path));
}
