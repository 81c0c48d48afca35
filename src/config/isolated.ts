import { Worker } from 'node:worker_threads';
import { FleetError, type ErrorCode } from '../errors.js';
import { ConfigError } from './errors.js';
import type { ConfigIssue, FleetConfig } from './types.js';

export interface IsolatedRequest {
  file: string;
  env: Record<string, string | undefined>;
}
export type IsolatedReply = { config: FleetConfig } | { error: { code?: ErrorCode; message: string; issues?: ConfigIssue[] } };

/**
 * loadConfig in a worker thread, for the long-lived daemon: the validator and the YAML parser
 * (zod, yaml, node-cron: ~9 MB of heap measured) are loaded, used and freed with the worker
 * instead of staying resident for the daemon's lifetime. Same result and same errors
 * (ConfigError with every issue, FleetError codes) as loadConfig.
 */
export function loadConfigIsolated(file: string, env: NodeJS.ProcessEnv): Promise<FleetConfig> {
  const request: IsolatedRequest = { file, env: { ...env } };
  return new Promise<FleetConfig>((resolve, reject) => {
    const { entry, evaluate } = workerEntry();
    const worker = new Worker(entry, { workerData: request, eval: evaluate });
    let settled = false;
    worker.once('message', (reply: IsolatedReply) => {
      settled = true;
      if ('config' in reply) return resolve(reply.config);
      const { code, message, issues } = reply.error;
      reject(issues ? new ConfigError(issues) : new FleetError(code ?? 'CONFIG_INVALID', message));
    });
    worker.once('error', (err) => {
      settled = true;
      reject(new FleetError('CONFIG_INVALID', `config could not be loaded: ${err.message}`, { cause: err }));
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new FleetError('CONFIG_INVALID', `config loader exited with ${code} before answering`));
    });
  });
}

/**
 * The built package runs the compiled worker. Run from source (tests, `--import tsx`), a worker
 * does not inherit tsx's loader hooks, so it registers them before importing the .ts entry.
 */
function workerEntry(): { entry: URL | string; evaluate: boolean } {
  if (!import.meta.url.endsWith('.ts')) return { entry: new URL('./isolated-worker.js', import.meta.url), evaluate: false };
  const ts = new URL('./isolated-worker.ts', import.meta.url).href;
  // Resolved here: the eval'd code would resolve a bare name against the process's cwd.
  const tsx = import.meta.resolve('tsx/esm/api');
  return { entry: `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(ts)}); })`, evaluate: true };
}
