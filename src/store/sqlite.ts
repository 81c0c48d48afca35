import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { systemClock, type Clock } from '../clock.js';
import { FleetError, isFleetError } from '../errors.js';
import { DB_FILE, ensureDataDir, precreateDbFile, tightenDbFiles } from './files.js';
import { eventsRepo, metaRepo, toolsRepo, tokensRepo, versionsRepo } from './repos.js';
import { runnersRepo } from './runners.js';
import { scaleSetsRepo } from './scalesets.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';
import type { Store } from './types.js';

export interface OpenStoreOptions {
  clock?: Clock;
  /** How long a statement waits for another connection's lock. Default 5 s. */
  busyTimeoutMs?: number;
}

/**
 * Opens (creating or migrating) `{dataDir}/state.db`. The directory is created 0700 when
 * missing, the database files are 0600 (registration tokens live here). A database written
 * by a newer runner-fleet is refused untouched: no downgrade, no pragma writes.
 */
export function openStore(dataDir: string, opts: OpenStoreOptions = {}): Store {
  const dbPath = path.join(dataDir, DB_FILE);
  let db: Database | undefined;
  try {
    ensureDataDir(dataDir);
    precreateDbFile(dbPath);
    db = new BetterSqlite3(dbPath);
    db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
    refuseNewer(db, dbPath);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    migrate(db);
    tightenDbFiles(dbPath);
    return buildStore(db, dbPath, opts.clock ?? systemClock);
  } catch (err) {
    db?.close();
    throw asStoreError(err, `cannot open ${dbPath}`);
  }
}

/**
 * For `runner-fleet status` while the daemon is down: never creates, migrates or writes.
 * Writes through the returned store fail with STORE_FAILED.
 */
export function openStoreReadOnly(dataDir: string, opts: OpenStoreOptions = {}): Store {
  const dbPath = path.join(dataDir, DB_FILE);
  if (!fs.existsSync(dbPath)) throw new FleetError('STORE_FAILED', `no state database at ${dbPath}`);
  let db: Database | undefined;
  try {
    db = new BetterSqlite3(dbPath, { readonly: true, fileMustExist: true });
    db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
    refuseNewer(db, dbPath);
    const v = userVersion(db);
    if (v < SCHEMA_VERSION) {
      throw new FleetError(
        'STORE_FAILED',
        `${dbPath} has schema version ${v}, this runner-fleet expects ${SCHEMA_VERSION}; start the daemon once to migrate it`,
      );
    }
    return buildStore(db, dbPath, opts.clock ?? systemClock);
  } catch (err) {
    db?.close();
    throw asStoreError(err, `cannot open ${dbPath} read-only`);
  }
}

function userVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function refuseNewer(db: Database, dbPath: string): void {
  const v = userVersion(db);
  if (v > SCHEMA_VERSION) {
    throw new FleetError(
      'STORE_NEWER_SCHEMA',
      `${dbPath} has schema version ${v}, newer than this runner-fleet understands (${SCHEMA_VERSION}); ` +
        `it was written by a newer release. Upgrade runner-fleet; the database was left untouched`,
    );
  }
}

/**
 * Each step and its version bump commit together, so a crash never leaves a half step. The
 * version is re-read under the write lock: a CLI command and the daemon may open a new
 * database at the same moment, and only one of them applies each step.
 */
function migrate(db: Database): void {
  const step = db.transaction((): boolean => {
    const v = userVersion(db);
    if (v >= SCHEMA_VERSION) return false;
    db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${v + 1}`);
    return true;
  });
  while (step.immediate()) {
    // next step
  }
}

function buildStore(db: Database, dbPath: string, clock: Clock): Store {
  const store: Store = {
    path: dbPath,
    runners: runnersRepo(db, clock),
    tokens: tokensRepo(db),
    versions: versionsRepo(db),
    tools: toolsRepo(db),
    events: eventsRepo(db, clock),
    meta: metaRepo(db),
    scaleSets: scaleSetsRepo(db, clock),
    transaction: (fn) => db.transaction(fn)(),
    close: () => {
      if (db.open) db.close();
    },
  };
  return guardAll(store) as Store;
}

/** Every SQLite error leaves the store as FleetError('STORE_FAILED') with the cause kept. */
function guardAll(obj: object): object {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) {
    if (typeof value === 'function') {
      out[key] = (...args: unknown[]) => {
        try {
          return (value as (...a: unknown[]) => unknown)(...args);
        } catch (err) {
          // Only SQLite's own errors are ours to translate; the caller's errors pass through.
          if (err instanceof BetterSqlite3.SqliteError) throw asStoreError(err, `store.${key} failed`);
          throw err;
        }
      };
    } else if (value && typeof value === 'object') {
      out[key] = guardAll(value);
    } else {
      out[key] = value;
    }
  }
  return out;
}

function asStoreError(err: unknown, context: string): FleetError {
  if (isFleetError(err)) return err;
  return new FleetError('STORE_FAILED', `${context}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}
