import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { checkConfigText } from '../../src/config/load.js';
import type { ConfigIssue } from '../../src/config/types.js';

export const FILE = '/etc/runner-fleet/config.yaml';

/** The smallest valid config; tests append or replace pieces of it. */
export const MINIMAL = `github:
  auth:
    token: t0ken
pools:
  - name: cd
    scope: { org: acme }
    size: 1
`;

export function check(text: string, env: NodeJS.ProcessEnv = {}) {
  return checkConfigText(text, FILE, env, { hostname: 'build-01.example.com' });
}

export function issuesOf(text: string, env: NodeJS.ProcessEnv = {}): ConfigIssue[] {
  return check(text, env).issues;
}

export function issueAt(issues: ConfigIssue[], p: string): ConfigIssue | undefined {
  return issues.find((i) => i.path === p);
}

export { tempDir } from '../helpers/temp.js';

export async function writeTemp(dir: string, name: string, text: string, mode = 0o600): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, text, { mode });
  return file;
}
