export { createApiServer, type ApiDeps, type ApiServer } from './server.js';
export { createMetrics, Metrics, METRIC_PREFIX, type WebhookResult } from './metrics.js';
export type { DrainRequest, HealthInfo, PoolStatus, RunnerStatus, StatusReport, WorkflowJobEvent } from './types.js';
export { apiBaseUrl, createApiClient, type ApiClient, type ApiClientOptions } from './client.js';
export { controlSocketPath, CONTROL_SOCKET } from './socket.js';
export { runnerStatus, statusFromStore } from './status.js';
