import fs from 'node:fs';
import type { Clock } from '../clock.js';
import type { FleetConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import { sweepTemps } from '../runner/tmp.js';
import { openStore } from '../store/index.js';
import { checkDataDirSafe, ensureDataDir } from '../store/files.js';
import type { Store } from '../store/types.js';
import { lockDataDir, type DataDirLock } from './data-lock.js';
import { dataDirModeFor } from './launch.js';

/** The daemon's data dir: made safe, locked (one daemon per dir), opened, swept of half-written leftovers. */
export function openDataDir(config: FleetConfig, logger: Logger, clock: Clock): { lock: DataDirLock; store: Store } {
  // Before anything is written or chmodded: never take over /etc, a symlink or another user's dir.
  checkDataDirSafe(config.host.dataDir);
  ensureDataDir(config.host.dataDir);
  // One daemon per data dir: a second one would fight the first over the database and runners.
  const lock = lockDataDir(config.host.dataDir);
  let store: Store;
  try {
    store = openStore(config.host.dataDir, { clock });
  } catch (err) {
    lock.release();
    throw err;
  }
  // What a crash left half-written (runner extraction, tool install) is never used; it goes now.
  const swept = sweepTemps(config.host.dataDir);
  if (swept.length) logger.info({ removed: swept }, 'removed leftovers of an interrupted download or install');
  // 0700, or 0711 (traverse only; state.db stays 0600) when runners run as another user.
  fs.chmodSync(config.host.dataDir, dataDirModeFor(config));
  return { lock, store };
}
