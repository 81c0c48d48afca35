import path from 'node:path';

export const DEFAULT_CONFIG_PATH = '/etc/runner-fleet/config.yaml';

/** `-c/--config`, else `$RUNNER_FLEET_CONFIG`, else /etc/runner-fleet/config.yaml. */
export function resolveConfigPath(opt?: string, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = opt || env.RUNNER_FLEET_CONFIG || DEFAULT_CONFIG_PATH;
  return path.resolve(chosen);
}
