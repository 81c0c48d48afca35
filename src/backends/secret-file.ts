import { FleetError } from '../errors.js';

/**
 * Where a runner's secrets (JIT config, registration token, secretEnv values) wait for it: a
 * 0600 file in its own root that the start wrapper (Docker) or the shim's child (process) loads
 * and deletes before it execs the runner. So no long-lived environment a job can read (a
 * container's PID 1, the supervising shim) ever holds a scope's registration token.
 */
export const SECRET_FILE = '.rf/secret.env';

/** sh syntax: one single-quoted assignment per line, so values may hold quotes and newlines. */
export function renderSecretFile(secretEnv: Record<string, string>): string {
  return Object.entries(secretEnv)
    .map(([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new FleetError('BACKEND_FAILED', `invalid environment variable name ${JSON.stringify(k)}`);
      return `${k}='${v.replace(/'/g, `'\\''`)}'\n`;
    })
    .join('');
}

/** Loads the file (if any) with every variable exported, deletes it, then runs "$@". */
export const LOAD_SECRETS = 'if [ -f "$s" ]; then set -a; . "$s" || exit 1; set +a; rm -f "$s" || exit 1; fi; exec "$@"';
