/** The shapes the daemon hands to Metrics (src/api/metrics.ts). */

/** One scale-set listener as the metrics see it. */
export interface ScaleSetListenerMetric {
  pool: string;
  up: boolean;
  lastPollAt: number | null;
  assignedJobs: number;
}

/** Outcomes of POST /webhook, the `result` label of runner_fleet_webhook_deliveries_total. */
export type WebhookResult = 'accepted' | 'duplicate' | 'ignored' | 'ping' | 'bad_signature' | 'too_large' | 'invalid' | 'overloaded';

/** Per-pool figures reported after every reconcile pass. */
export interface PoolMetrics {
  pool: string;
  backend: string;
  labels: string[];
  desired: number;
  queued: number;
  /** Epoch ms when the oldest still-waiting job was queued. */
  oldestQueuedAt?: number;
}
