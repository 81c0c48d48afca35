/** Signed `workflow_job` deliveries (docs/runner-facts.md §4). */
import { randomUUID } from 'node:crypto';
import { sign } from '@octokit/webhooks-methods';
import type { EmuState, JobRec } from './state.js';

export type JobAction = 'queued' | 'in_progress' | 'completed';

export interface DeliveryRecord { deliveryId: string; action: JobAction; jobId: number; url: string; status: number }

export function workflowJobPayload(state: EmuState, webUrl: string, apiUrl: string, action: JobAction, job: JobRec | undefined, jobId: number, labels: string[] = []): Record<string, unknown> {
  const scopeKey = job?.scopeKey ?? 'org:acme';
  const [kind, name] = [scopeKey.split(':')[0], scopeKey.slice(scopeKey.indexOf(':') + 1)];
  const repoFull = kind === 'repo' ? name : kind === 'org' ? `${name}/app` : 'acme/app';
  const org = repoFull.split('/')[0]!;
  const runner = job?.runnerId != null ? state.runnersById.get(job.runnerId) : undefined;
  const runId = job?.runId ?? jobId * 10;
  const iso = (ms: number | null | undefined): string | null => (ms == null ? null : new Date(ms).toISOString());
  const created = job?.queuedAt ?? state.now();
  const withRunner = action !== 'queued' && job?.runnerId != null;
  const vis = state.scopes.get(`repo:${repoFull}`)?.visibility ?? 'private';
  return {
    action,
    workflow_job: {
      id: jobId,
      run_id: runId,
      run_url: `${apiUrl}/repos/${repoFull}/actions/runs/${runId}`,
      run_attempt: 1,
      node_id: `CR_${Buffer.from(String(jobId)).toString('base64')}`,
      head_sha: job?.headSha ?? '0'.repeat(40),
      head_branch: 'main',
      url: `${apiUrl}/repos/${repoFull}/actions/jobs/${jobId}`,
      html_url: `${webUrl}/${repoFull}/actions/runs/${runId}/job/${jobId}`,
      check_run_url: `${apiUrl}/repos/${repoFull}/check-runs/${jobId}`,
      status: action,
      conclusion: action === 'completed' ? (job?.conclusion ?? 'success') : null,
      created_at: iso(created),
      started_at: iso(job?.startedAt ?? created),
      completed_at: action === 'completed' ? iso(job?.completedAt ?? state.now()) : null,
      name: job?.name ?? `job-${jobId}`,
      workflow_name: 'CI',
      steps: [],
      labels: job?.labels ?? labels,
      runner_id: withRunner ? job!.runnerId : null,
      runner_name: withRunner ? job!.runnerName : null,
      runner_group_id: withRunner ? (runner?.groupId ?? 1) : null,
      runner_group_name: withRunner ? 'Default' : null,
    },
    repository: {
      id: 1, node_id: 'R_1', name: repoFull.split('/')[1], full_name: repoFull, private: vis !== 'public', visibility: vis,
      owner: { login: org, id: 2, type: 'Organization' }, html_url: `${webUrl}/${repoFull}`,
    },
    organization: { login: org, id: 2 },
    sender: { login: 'octocat', id: 3, type: 'User' },
  };
}

export async function deliver(url: string, secret: string, payload: unknown, opts: { deliveryId?: string; badSignature?: boolean } = {}): Promise<{ status: number; deliveryId: string }> {
  const body = JSON.stringify(payload);
  const deliveryId = opts.deliveryId ?? randomUUID();
  const signature = await sign(opts.badSignature ? `${secret}-wrong` : secret, body);
  const res = await fetch(url, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/emulator',
      'x-github-event': 'workflow_job',
      'x-github-delivery': deliveryId,
      'x-github-hook-id': '1',
      'x-github-hook-installation-target-type': 'organization',
      'x-github-hook-installation-target-id': '2',
      'x-hub-signature-256': signature,
    },
  });
  await res.arrayBuffer().catch(() => undefined);
  return { status: res.status, deliveryId };
}
