import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { ApiLimits } from './limits.js';
import type { Metrics } from './metrics.js';
import type { DrainRequest, HealthInfo, StatusReport, WorkflowJobEvent } from './types.js';

/** What the API server is handed; its own module so the route modules need not import the server. */
export interface ApiDeps {
  listen: { host: string; port: number };
  /**
   * The operator's control socket (CONTRACT §7): every route, no token asked, since only the
   * daemon's user and root can connect to it (0600). Not served when unset.
   */
  socketPath?: string;
  /**
   * On TCP, /api/v1/* GETs require `Authorization: Bearer <token>` when set; control routes
   * (any other method under /api/) require it always and answer 403 without one configured.
   * /healthz, /metrics and the signed /webhook stay open.
   */
  token?: string;
  /** When set, POST /webhook is enabled (else 404). */
  webhookSecret?: string;
  logger: Logger;
  metrics: Metrics;
  status: () => Promise<StatusReport> | StatusReport;
  health: () => HealthInfo;
  /** Called after the 202 is sent; never blocks the response. */
  onWorkflowJob: (e: WorkflowJobEvent) => Promise<void> | void;
  /** true if this delivery id was already seen; records it otherwise. */
  seenDelivery: (id: string) => boolean;
  /** true if this job id + action was already seen (under another delivery id); records it otherwise. */
  seenJobEvent?: (key: string) => boolean;
  /** Load limits (limits.ts); defaults when absent. */
  limits?: Partial<ApiLimits>;
  /** Start draining (should return once draining has begun, not when it ends). FleetError USAGE → 400. */
  drain?: (req: DrainRequest) => Promise<unknown> | unknown;
  /** Lift an operator's drain on one pool or all. */
  undrain?: (req: { pool?: string }) => Promise<unknown> | unknown;
  /** Deregister every runner of this host and stop them; the result is returned as JSON. */
  deregisterAll?: () => Promise<unknown> | unknown;
  clock?: Clock;
}
