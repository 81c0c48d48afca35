export { openStore, openStoreReadOnly, type OpenStoreOptions } from './sqlite.js';
export { checkDataDir, DB_FILE, type DataDirCheck } from './files.js';
export { canTransition, RUNNER_STATES } from './states.js';
export { SCHEMA_VERSION } from './schema.js';
export type * from './types.js';
