import { verify } from '@octokit/webhooks-methods';
import type { Clock } from '../clock.js';
import { recentKeys } from './limits.js';
import type { WorkflowJobEvent } from './types.js';

/** Constant-time check of X-Hub-Signature-256 (sha256=<hex HMAC of the raw body>). */
export async function verifySignature(secret: string, body: Buffer, signature: string | undefined): Promise<boolean> {
  if (!signature || !signature.startsWith('sha256=') || body.length === 0) return false;
  try {
    return await verify(secret, body.toString('utf8'), signature);
  } catch {
    return false;
  }
}

type Json = Record<string, unknown>;

const obj = (v: unknown): Json | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * The delivery's JSON: the body itself, or its `payload` field when the webhook was set up with
 * GitHub's other content type, application/x-www-form-urlencoded (the signature covers the body
 * as sent either way).
 */
function payloadText(body: Buffer, contentType: string | undefined): string | undefined {
  const text = body.toString('utf8');
  if (!/^application\/x-www-form-urlencoded\b/i.test(contentType?.trim() ?? '')) return text;
  return new URLSearchParams(text).get('payload') ?? undefined;
}

/** Picks the fields we use out of a workflow_job payload; undefined when it is not one. */
export function parseWorkflowJob(body: Buffer, deliveryId: string, contentType?: string): WorkflowJobEvent | undefined {
  let payload: Json | undefined;
  try {
    payload = obj(JSON.parse(payloadText(body, contentType) ?? ''));
  } catch {
    return undefined;
  }
  const job = obj(payload?.workflow_job);
  const repo = obj(payload?.repository);
  const action = str(payload?.action);
  const id = num(job?.id);
  if (!payload || !job || !repo || !action || id === null) return undefined;
  const labels = Array.isArray(job.labels) ? job.labels.filter((l): l is string => typeof l === 'string') : [];
  const org = str(obj(payload.organization)?.login);
  return {
    action,
    deliveryId,
    job: {
      id,
      runId: num(job.run_id) ?? 0,
      name: str(job.name) ?? '',
      labels,
      status: str(job.status) ?? action,
      conclusion: str(job.conclusion),
      runnerId: num(job.runner_id),
      runnerName: str(job.runner_name),
      runnerGroupName: str(job.runner_group_name),
    },
    repository: { fullName: str(repo.full_name) ?? '', private: repo.private === true },
    ...(org ? { org } : {}),
  };
}

/**
 * Webhook replays start nothing: keys (delivery ids; job id + action) are remembered for a day,
 * at most 50 000 of them.
 */
export function deliveryLog(clock: Clock): (key: string) => boolean {
  return recentKeys(() => clock.now(), { ttlMs: 86_400_000, max: 50_000 });
}
