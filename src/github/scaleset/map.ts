import { FleetError } from '../../errors.js';
import type { JobMessage, QueueMessage, ScaleSet, ScaleSetSession, ScaleSetStatistics } from './types.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- service JSON, mapped field by field */
type Json = any;

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : Number(v) || 0);

export function mapStatistics(s: Json): ScaleSetStatistics | null {
  if (!s || typeof s !== 'object') return null;
  return {
    totalAvailableJobs: num(s.totalAvailableJobs),
    totalAcquiredJobs: num(s.totalAcquiredJobs),
    totalAssignedJobs: num(s.totalAssignedJobs),
    totalRunningJobs: num(s.totalRunningJobs),
    totalRegisteredRunners: num(s.totalRegisteredRunners),
    totalBusyRunners: num(s.totalBusyRunners),
    totalIdleRunners: num(s.totalIdleRunners),
  };
}

export function mapScaleSet(j: Json): ScaleSet {
  if (!j || typeof j.id !== 'number') throw new FleetError('SCALESET_BAD_MESSAGE', 'scale set answer without an id');
  const setting = j.RunnerSetting ?? j.runnerSetting ?? {};
  return {
    id: j.id,
    name: String(j.name ?? ''),
    runnerGroupId: num(j.runnerGroupId),
    runnerGroupName: String(j.runnerGroupName ?? ''),
    labels: (j.labels ?? []).map((l: Json) => ({ type: String(l.type ?? 'System'), name: String(l.name) })),
    ephemeral: Boolean(setting.ephemeral),
    disableUpdate: Boolean(setting.disableUpdate),
    statistics: mapStatistics(j.statistics),
  };
}

export function mapSession(j: Json, scaleSetId: number): ScaleSetSession {
  if (!j || !j.sessionId || !j.messageQueueUrl || !j.messageQueueAccessToken) {
    throw new FleetError('SCALESET_BAD_MESSAGE', 'session answer without sessionId, messageQueueUrl or messageQueueAccessToken');
  }
  return {
    sessionId: String(j.sessionId),
    ownerName: String(j.ownerName ?? ''),
    scaleSetId: j.runnerScaleSet?.id ?? scaleSetId,
    messageQueueUrl: String(j.messageQueueUrl),
    messageQueueAccessToken: String(j.messageQueueAccessToken),
    statistics: mapStatistics(j.statistics),
  };
}

function mapJob(j: Json): JobMessage {
  return {
    messageType: String(j.messageType ?? ''),
    runnerRequestId: num(j.runnerRequestId),
    jobId: String(j.jobId ?? ''),
    repositoryName: j.repositoryName,
    ownerName: j.ownerName,
    jobDisplayName: j.jobDisplayName,
    workflowRunId: j.workflowRunId,
    requestLabels: Array.isArray(j.requestLabels) ? j.requestLabels.map(String) : [],
    acquireJobUrl: j.acquireJobUrl,
    runnerId: j.runnerId === undefined ? undefined : num(j.runnerId),
    runnerName: j.runnerName,
    result: j.result,
  };
}

/** A 200 from the message queue; its body is a JSON string of an array of job messages. */
export function mapMessage(j: Json): QueueMessage {
  if (!j || typeof j !== 'object' || typeof j.messageId !== 'number') throw new FleetError('SCALESET_BAD_MESSAGE', 'message without a messageId');
  let jobs: JobMessage[] = [];
  if (j.messageType === 'RunnerScaleSetJobMessages' && typeof j.body === 'string' && j.body.trim()) {
    let items: unknown;
    try {
      items = JSON.parse(j.body);
    } catch (err) {
      throw new FleetError('SCALESET_BAD_MESSAGE', `message ${j.messageId}: body is not JSON`, { cause: err });
    }
    if (!Array.isArray(items)) throw new FleetError('SCALESET_BAD_MESSAGE', `message ${j.messageId}: body is not an array`);
    jobs = items.map(mapJob);
  }
  return { messageId: j.messageId, messageType: String(j.messageType ?? ''), jobs, statistics: mapStatistics(j.statistics) };
}
