export { ScaleSetClient, type ScaleSetClientOptions } from './client.js';
export { AdminConnection, jwtExpiry } from './admin.js';
export { QueueSession, MAX_CAPACITY_HEADER } from './session.js';
export { actionsStatus, actionsTypeName, ActionsServiceError, API_VERSION } from './http.js';
export type * from './types.js';
