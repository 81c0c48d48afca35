import { request } from 'node:http';
import { sign } from '@octokit/webhooks-methods';
import { main } from '../../src/cli/index.js';
import { ManualClock } from '../../src/clock.js';
import { createApiServer, type ApiDeps } from '../../src/api/server.js';
import { createMetrics } from '../../src/api/metrics.js';
import type { StatusReport, WorkflowJobEvent } from '../../src/api/types.js';
import { silentLogger } from '../../src/log.js';

export const SECRET = 'test-webhook-secret';

export const sampleStatus: StatusReport = {
  host: 'build-01',
  version: '0.1.0',
  pools: [{
    name: 'cd', backend: 'process', scope: 'org:acme', desired: 1, actual: 1, healthy: true,
    runners: [{ name: 'build-01-cd-abc123', state: 'idle', backend: 'process', githubId: 7, busy: false, labels: ['self-hosted'], startedAt: 1, version: '2.330.0' }],
  }],
  tokens: [{ scope: 'org:acme', kind: 'registration', expiresAt: 2 }],
  tools: [{ name: 'yq', version: 'v4.40.5', installed: true, sha256: 'ab' }],
  networkChecks: [{ target: 'argocd.internal:443', ok: true, detail: 'connected' }],
  github: { rateLimitRemaining: 4999, requests: 3 },
};

/** A real server on an ephemeral port with recording fakes for every dependency. */
export async function startApi(over: Partial<ApiDeps> = {}) {
  const clock = new ManualClock();
  const jobs: WorkflowJobEvent[] = [];
  const seen = new Set<string>();
  const metrics = createMetrics();
  const health = { ok: true, lastReconcileAt: clock.now() as number | null, intervalMs: 10_000 };
  const api = createApiServer({
    listen: { host: '127.0.0.1', port: 0 },
    logger: silentLogger(),
    metrics,
    status: () => sampleStatus,
    health: () => health,
    onWorkflowJob: (e) => void jobs.push(e),
    seenDelivery: (id) => (seen.has(id) ? true : (seen.add(id), false)),
    webhookSecret: SECRET,
    clock,
    ...over,
  });
  const { port } = await api.start();
  return { api, clock, jobs, metrics, health, base: `http://127.0.0.1:${port}`, port };
}

export function workflowJob(id: number, action = 'queued'): Record<string, unknown> {
  return {
    action,
    workflow_job: {
      id, run_id: id * 10, name: `job-${id}`, status: action, conclusion: null, labels: ['self-hosted', 'cd-pipeline'],
      runner_id: null, runner_name: null, runner_group_id: null, runner_group_name: null,
    },
    repository: { full_name: 'acme/app', private: true },
    organization: { login: 'acme' },
    sender: { login: 'octocat' },
  };
}

export async function deliver(base: string, payload: unknown, opts: { deliveryId?: string; secret?: string; event?: string; signature?: string | null } = {}) {
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-github-event': opts.event ?? 'workflow_job',
    'x-github-delivery': opts.deliveryId ?? `d-${Math.random().toString(36).slice(2)}`,
  };
  if (opts.signature !== null) headers['x-hub-signature-256'] = opts.signature ?? (await sign(opts.secret ?? SECRET, body));
  return fetch(`${base}/webhook`, { method: 'POST', body, headers });
}

/** POST a raw body with node:http, tolerating the server hanging up mid-upload. */
export function postRaw(port: number, path: string, body: Buffer, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-length': String(body.length), ...headers } });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** `runner-fleet …` in-process with captured output. */
export async function cliInProcess(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'runner-fleet', ...args], {
    env: { PATH: process.env.PATH },
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  });
  return { code, stdout, stderr };
}
