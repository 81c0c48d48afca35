/**
 * Shapes of GitHub's runner scale-set API (the Actions service side), as the daemon uses them.
 * Field names follow the wire format where we send them back (labels, RunnerSetting).
 */
export interface ScaleSetLabel {
  type: 'System' | 'User' | string;
  name: string;
}

export interface ScaleSetStatistics {
  totalAvailableJobs: number;
  totalAcquiredJobs: number;
  totalAssignedJobs: number;
  totalRunningJobs: number;
  totalRegisteredRunners: number;
  totalBusyRunners: number;
  totalIdleRunners: number;
}

export interface ScaleSet {
  id: number;
  name: string;
  runnerGroupId: number;
  runnerGroupName: string;
  labels: ScaleSetLabel[];
  ephemeral: boolean;
  disableUpdate: boolean;
  statistics: ScaleSetStatistics | null;
}

export interface ScaleSetSpec {
  name: string;
  runnerGroupId: number;
  labels: string[];
  disableUpdate?: boolean;
}

export interface ScaleSetSession {
  sessionId: string;
  ownerName: string;
  scaleSetId: number;
  messageQueueUrl: string;
  messageQueueAccessToken: string;
  statistics: ScaleSetStatistics | null;
}

export type JobMessageType = 'JobAvailable' | 'JobAssigned' | 'JobStarted' | 'JobCompleted';

/** One item of a message body; only the fields the daemon reads are typed. */
export interface JobMessage {
  messageType: JobMessageType | string;
  runnerRequestId: number;
  jobId: string;
  repositoryName?: string;
  ownerName?: string;
  jobDisplayName?: string;
  workflowRunId?: number;
  requestLabels?: string[];
  acquireJobUrl?: string;
  runnerId?: number;
  runnerName?: string;
  result?: string;
}

export interface QueueMessage {
  messageId: number;
  messageType: string;
  jobs: JobMessage[];
  statistics: ScaleSetStatistics | null;
}

export interface JitRunner {
  runnerId: number;
  name: string;
  scaleSetId: number;
  encoded: string;
}

export interface Agent {
  id: number;
  name: string;
  busy: boolean;
  status: string;
}

/** What an admin connection holds: the Actions service base URL and its admin token (a JWT). */
export interface AdminToken {
  serviceUrl: string;
  token: string;
  /** epoch ms, from the JWT's exp */
  expiresAt: number;
}
