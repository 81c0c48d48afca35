/**
 * Versioned schema. `PRAGMA user_version` holds the number of migrations applied; each entry
 * below is applied once, in order, inside its own transaction. Shipped entries never change:
 * a new column or table is a new entry at the end.
 */
export const MIGRATIONS: readonly string[] = [
  // v1: runners (intent + state machine), rotated tokens, verified runner versions, facts.
  `
  CREATE TABLE runners (
    name            TEXT PRIMARY KEY,
    pool            TEXT NOT NULL,
    backend         TEXT NOT NULL,
    state           TEXT NOT NULL,
    ephemeral       INTEGER NOT NULL DEFAULT 0,
    version         TEXT,
    github_id       INTEGER,
    labels          TEXT NOT NULL DEFAULT '[]',
    busy            INTEGER NOT NULL DEFAULT 0,
    ran_job         INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    started_at      INTEGER,
    updated_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_retry_at   INTEGER,
    last_exit_code  INTEGER,
    last_error      TEXT
  );
  CREATE INDEX runners_pool_state ON runners (pool, state);
  CREATE TABLE tokens (
    scope_key   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    token       TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    fetched_at  INTEGER NOT NULL,
    PRIMARY KEY (scope_key, kind)
  );
  CREATE TABLE runner_versions (
    version     TEXT PRIMARY KEY,
    sha256      TEXT NOT NULL,
    path        TEXT NOT NULL,
    fetched_at  INTEGER NOT NULL
  );
  CREATE TABLE meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
  );
  `,
  // v2: job name and deletion reason on runners, installed tools, the audit log.
  `
  ALTER TABLE runners ADD COLUMN job_name TEXT;
  ALTER TABLE runners ADD COLUMN reason TEXT;
  CREATE INDEX runners_state ON runners (state);
  CREATE TABLE tools (
    name            TEXT NOT NULL,
    version         TEXT NOT NULL,
    arch            TEXT NOT NULL,
    sha256          TEXT NOT NULL,
    path            TEXT NOT NULL,
    version_output  TEXT,
    installed_at    INTEGER NOT NULL,
    PRIMARY KEY (name, version, arch)
  );
  CREATE TABLE events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    kind    TEXT NOT NULL,
    runner  TEXT,
    pool    TEXT,
    data    TEXT NOT NULL DEFAULT '{}'
  );
  CREATE INDEX events_runner ON events (runner, id);
  CREATE INDEX events_kind ON events (kind, id);
  `,
  // v3: drop attempts / next_retry_at, never written (a pool's crash-loop backoff lives in memory,
  // reconcile/pools.ts).
  `
  ALTER TABLE runners DROP COLUMN attempts;
  ALTER TABLE runners DROP COLUMN next_retry_at;
  `,
  // v4: runner scale sets of scale.via: scaleset pools (id, last acknowledged message, statistics).
  `
  CREATE TABLE scale_sets (
    pool             TEXT PRIMARY KEY,
    scope_key        TEXT NOT NULL,
    name             TEXT NOT NULL,
    scale_set_id     INTEGER NOT NULL,
    runner_group_id  INTEGER NOT NULL,
    last_message_id  INTEGER NOT NULL DEFAULT 0,
    statistics       TEXT NOT NULL DEFAULT '{}',
    updated_at       INTEGER NOT NULL
  );
  `,
  // v5: forget every stored GitHub runner id. Versions before issue 10 item 5 stored the id a
  // runner's job-writable `.runner` named without checking it against GitHub, and rows do not say
  // where their id came from: a job could have pointed its row at a sibling's or a foreign
  // registration. From here on an id in a row comes from GitHub itself (the JIT answer, a lookup
  // by name, or a `.runner` hint GitHub confirmed); the next deregistration looks it up again.
  `
  UPDATE runners SET github_id = NULL;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
