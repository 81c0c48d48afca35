import type { Database } from 'better-sqlite3';
import type { Clock } from '../clock.js';
import { FleetError } from '../errors.js';
import { canTransition } from './states.js';
import type { RunnerPatch, RunnerRow, RunnerState, Store } from './types.js';

interface DbRow {
  name: string;
  pool: string;
  backend: string;
  state: string;
  ephemeral: number;
  version: string | null;
  github_id: number | null;
  labels: string;
  busy: number;
  ran_job: number;
  job_name: string | null;
  created_at: number;
  started_at: number | null;
  updated_at: number;
  last_exit_code: number | null;
  last_error: string | null;
  reason: string | null;
}

/** RunnerRow field → column; the order is the insert order. */
const COLUMNS: [keyof RunnerRow, keyof DbRow][] = [
  ['name', 'name'],
  ['pool', 'pool'],
  ['backend', 'backend'],
  ['state', 'state'],
  ['ephemeral', 'ephemeral'],
  ['version', 'version'],
  ['githubId', 'github_id'],
  ['labels', 'labels'],
  ['busy', 'busy'],
  ['ranJob', 'ran_job'],
  ['jobName', 'job_name'],
  ['createdAt', 'created_at'],
  ['startedAt', 'started_at'],
  ['updatedAt', 'updated_at'],
  ['lastExitCode', 'last_exit_code'],
  ['lastError', 'last_error'],
  ['reason', 'reason'],
];
const COLUMN_OF = new Map(COLUMNS);

function fromDb(r: DbRow): RunnerRow {
  return {
    name: r.name,
    pool: r.pool,
    backend: r.backend as RunnerRow['backend'],
    state: r.state as RunnerState,
    ephemeral: r.ephemeral === 1,
    version: r.version,
    githubId: r.github_id,
    labels: JSON.parse(r.labels) as string[],
    busy: r.busy === 1,
    ranJob: r.ran_job === 1,
    jobName: r.job_name,
    createdAt: r.created_at,
    startedAt: r.started_at,
    updatedAt: r.updated_at,
    lastExitCode: r.last_exit_code,
    lastError: r.last_error,
    reason: r.reason,
  };
}

/** SQLite has no booleans or arrays. */
function toDb(value: unknown): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (Array.isArray(value)) return JSON.stringify(value);
  return value ?? null;
}

export function runnersRepo(db: Database, clock: Clock): Store['runners'] {
  const getStmt = db.prepare<[string], DbRow>('SELECT * FROM runners WHERE name = ?');
  const insertStmt = db.prepare(
    `INSERT INTO runners (${COLUMNS.map((c) => c[1]).join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`,
  );
  const get = (name: string): RunnerRow | undefined => {
    const r = getStmt.get(name);
    return r ? fromDb(r) : undefined;
  };

  return {
    insert(row) {
      const full: RunnerRow = { ...row, updatedAt: clock.now() };
      return db.transaction(() => {
        // A gone row is history; the name may be used again (adoption of a still-running resource).
        const prior = get(row.name);
        if (prior && prior.state !== 'gone') throw new FleetError('STORE_FAILED', `runner ${row.name} already exists`);
        if (prior) db.prepare('DELETE FROM runners WHERE name = ?').run(row.name);
        insertStmt.run(...COLUMNS.map(([k]) => toDb(full[k])));
        return get(row.name)!;
      })();
    },
    get,
    list(filter = {}) {
      const where: string[] = [];
      const args: unknown[] = [];
      if (filter.pool !== undefined) {
        where.push('pool = ?');
        args.push(filter.pool);
      }
      if (filter.states) {
        if (filter.states.length === 0) return [];
        where.push(`state IN (${filter.states.map(() => '?').join(', ')})`);
        args.push(...filter.states);
      } else if (!filter.includeGone) {
        where.push(`state <> 'gone'`);
      }
      const sql = `SELECT * FROM runners ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY created_at, name`;
      return db.prepare<unknown[], DbRow>(sql).all(...args).map(fromDb);
    },
    update(name, patch) {
      return db.transaction(() => applyPatch(db, get, name, patch, clock.now()))();
    },
    purgeGone(olderThan) {
      return db.prepare(`DELETE FROM runners WHERE state IN ('gone', 'failed') AND updated_at < ?`).run(olderThan).changes;
    },
    remove(name) {
      db.prepare('DELETE FROM runners WHERE name = ?').run(name);
    },
  };
}

function applyPatch(
  db: Database,
  get: (name: string) => RunnerRow | undefined,
  name: string,
  patch: RunnerPatch,
  now: number,
): RunnerRow {
  const cur = get(name);
  if (!cur) throw new FleetError('STORE_FAILED', `runner ${name} is not in the store`);
  if (patch.state !== undefined && !canTransition(cur.state, patch.state)) {
    throw new FleetError('STORE_FAILED', `runner ${name}: state ${cur.state} → ${patch.state} is not allowed`);
  }
  const sets: string[] = [];
  const args: unknown[] = [];
  for (const [key, value] of Object.entries(patch) as [keyof RunnerRow, unknown][]) {
    const col = COLUMN_OF.get(key);
    if (!col || key === 'name' || key === 'createdAt' || key === 'updatedAt' || value === undefined) continue;
    sets.push(`${col} = ?`);
    args.push(toDb(value));
  }
  sets.push('updated_at = ?');
  args.push(patch.updatedAt ?? now);
  db.prepare(`UPDATE runners SET ${sets.join(', ')} WHERE name = ?`).run(...args, name);
  return get(name)!;
}
