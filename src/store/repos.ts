import type { Database } from 'better-sqlite3';
import type { Clock } from '../clock.js';
import type { Store, StoredEvent, StoredTool, StoredToken, StoredVersion } from './types.js';

/** The audit log is bounded: every so often the oldest rows beyond this many are dropped. */
export const EVENTS_KEPT = 10_000;
const TRIM_EVERY = 500;

export function tokensRepo(db: Database): Store['tokens'] {
  type Row = { scope_key: string; kind: StoredToken['kind']; token: string; expires_at: number; fetched_at: number };
  const map = (r: Row): StoredToken => ({
    scopeKey: r.scope_key,
    kind: r.kind,
    token: r.token,
    expiresAt: r.expires_at,
    fetchedAt: r.fetched_at,
  });
  const getStmt = db.prepare<[string, string], Row>('SELECT * FROM tokens WHERE scope_key = ? AND kind = ?');
  const putStmt = db.prepare(
    `INSERT INTO tokens (scope_key, kind, token, expires_at, fetched_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (scope_key, kind) DO UPDATE SET token = excluded.token,
       expires_at = excluded.expires_at, fetched_at = excluded.fetched_at`,
  );
  return {
    get(scopeKey, kind) {
      const r = getStmt.get(scopeKey, kind);
      return r ? map(r) : undefined;
    },
    put(t) {
      putStmt.run(t.scopeKey, t.kind, t.token, t.expiresAt, t.fetchedAt);
    },
    list() {
      return db.prepare<[], Row>('SELECT * FROM tokens ORDER BY scope_key, kind').all().map(map);
    },
  };
}

export function versionsRepo(db: Database): Store['versions'] {
  type Row = { version: string; sha256: string; path: string; fetched_at: number };
  const map = (r: Row): StoredVersion => ({ version: r.version, sha256: r.sha256, path: r.path, fetchedAt: r.fetched_at });
  return {
    get(version) {
      const r = db.prepare<[string], Row>('SELECT * FROM runner_versions WHERE version = ?').get(version);
      return r ? map(r) : undefined;
    },
    put(v) {
      db.prepare(
        `INSERT OR REPLACE INTO runner_versions (version, sha256, path, fetched_at) VALUES (?, ?, ?, ?)`,
      ).run(v.version, v.sha256, v.path, v.fetchedAt);
    },
    list() {
      return db.prepare<[], Row>('SELECT * FROM runner_versions ORDER BY fetched_at').all().map(map);
    },
  };
}

export function toolsRepo(db: Database): Store['tools'] {
  type Row = {
    name: string;
    version: string;
    arch: string;
    sha256: string;
    path: string;
    version_output: string | null;
    installed_at: number;
  };
  const map = (r: Row): StoredTool => ({
    name: r.name,
    version: r.version,
    arch: r.arch,
    sha256: r.sha256,
    path: r.path,
    versionOutput: r.version_output,
    installedAt: r.installed_at,
  });
  return {
    get(name, version, arch) {
      const r = db
        .prepare<[string, string, string], Row>('SELECT * FROM tools WHERE name = ? AND version = ? AND arch = ?')
        .get(name, version, arch);
      return r ? map(r) : undefined;
    },
    put(t) {
      db.prepare(
        `INSERT OR REPLACE INTO tools (name, version, arch, sha256, path, version_output, installed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ).run(t.name, t.version, t.arch, t.sha256, t.path, t.versionOutput, t.installedAt);
    },
    list() {
      return db.prepare<[], Row>('SELECT * FROM tools ORDER BY name, version, arch').all().map(map);
    },
  };
}

export function eventsRepo(db: Database, clock: Clock): Store['events'] {
  type Row = { id: number; at: number; kind: string; runner: string | null; pool: string | null; data: string };
  const appendStmt = db.prepare('INSERT INTO events (at, kind, runner, pool, data) VALUES (?, ?, ?, ?, ?)');
  const trimStmt = db.prepare('DELETE FROM events WHERE id <= (SELECT max(id) FROM events) - ?');
  return {
    append(e) {
      const id = Number(
        appendStmt.run(e.at ?? clock.now(), e.kind, e.runner, e.pool, JSON.stringify(e.data ?? {})).lastInsertRowid,
      );
      if (id % TRIM_EVERY === 0) trimStmt.run(EVENTS_KEPT);
    },
    recent(limit, filter = {}) {
      const where: string[] = [];
      const args: unknown[] = [];
      if (filter.runner !== undefined) {
        where.push('runner = ?');
        args.push(filter.runner);
      }
      if (filter.kind !== undefined) {
        where.push('kind = ?');
        args.push(filter.kind);
      }
      if (filter.pool !== undefined) {
        where.push('pool = ?');
        args.push(filter.pool);
      }
      const sql = `SELECT * FROM events ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ?`;
      return db
        .prepare<unknown[], Row>(sql)
        .all(...args, limit)
        .map(
          (r): StoredEvent => ({
            id: r.id,
            at: r.at,
            kind: r.kind,
            runner: r.runner,
            pool: r.pool,
            data: JSON.parse(r.data) as Record<string, unknown>,
          }),
        );
    },
  };
}

export function metaRepo(db: Database): Store['meta'] {
  const getStmt = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
  const setStmt = db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
  return {
    get: (key) => getStmt.get(key)?.value,
    set: (key, value) => void setStmt.run(key, value),
  };
}
