/**
 * Worker entry of loadConfigIsolated: loads the config with the full validator (zod, yaml,
 * node-cron) in a thread of its own, so none of them stays in the daemon's heap.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isConfigError } from './errors.js';
import { loadConfig } from './load.js';
import { isFleetError } from '../errors.js';
import type { IsolatedReply, IsolatedRequest } from './isolated.js';

const { file, env } = workerData as IsolatedRequest;
let reply: IsolatedReply;
try {
  reply = { config: await loadConfig(file, env) };
} catch (err) {
  reply = {
    error: {
      code: isFleetError(err) ? err.code : undefined,
      message: err instanceof Error ? err.message : String(err),
      issues: isConfigError(err) ? err.issues : undefined,
    },
  };
}
parentPort!.postMessage(reply);
