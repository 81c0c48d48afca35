import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import BetterSqlite3 from 'better-sqlite3';
import { ManualClock } from '../../src/clock.js';
import { isFleetError } from '../../src/errors.js';
import { checkDataDir, openStore, openStoreReadOnly, SCHEMA_VERSION, type RunnerRow } from '../../src/store/index.js';
import { tempDir } from '../helpers/temp.js';

function runner(name: string, over: Partial<RunnerRow> = {}): Omit<RunnerRow, 'updatedAt'> {
  return {
    name,
    pool: 'cd',
    backend: 'process',
    state: 'pending_create',
    ephemeral: true,
    version: '2.330.0',
    githubId: null,
    labels: ['self-hosted', 'linux', 'x64', 'cd'],
    busy: false,
    ranJob: false,
    jobName: null,
    createdAt: 1000,
    startedAt: null,
    lastExitCode: null,
    lastError: null,
    reason: null,
    ...over,
  };
}

const mode = (p: string) => fs.statSync(p).mode & 0o777;

test('fresh create: data dir 0700, database files 0600, WAL, latest schema', async (t) => {
  const dataDir = path.join(await tempDir(t), 'data');
  const store = openStore(dataDir);
  t.teardown(() => store.close());
  store.meta.set('k', 'v'); // forces -wal/-shm into existence
  t.is(store.path, path.join(dataDir, 'state.db'));
  t.is(mode(dataDir), 0o700);
  for (const f of ['state.db', 'state.db-wal', 'state.db-shm']) {
    t.is(mode(path.join(dataDir, f)), 0o600, f);
  }
  const raw = new BetterSqlite3(store.path, { readonly: true });
  t.is(raw.pragma('journal_mode', { simple: true }), 'wal');
  t.is(raw.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  raw.close();
  t.true(checkDataDir(dataDir).ok);
});

test('an existing data dir keeps its mode; checkDataDir reports it', async (t) => {
  const dataDir = await tempDir(t);
  fs.chmodSync(dataDir, 0o755);
  const store = openStore(dataDir);
  store.close();
  t.is(mode(dataDir), 0o755);
  const check = checkDataDir(dataDir);
  t.false(check.ok);
  t.is(check.mode, 0o755);
  t.true(check.ownedByUs);
  t.false(checkDataDir(path.join(dataDir, 'nope')).exists);
});

test('migrates a v1 database and keeps its rows', async (t) => {
  const dataDir = await tempDir(t);
  const dbPath = path.join(dataDir, 'state.db');
  // The v1 schema exactly as it shipped (shipped migrations never change).
  const v1 = new BetterSqlite3(dbPath);
  v1.exec(`
    CREATE TABLE runners (name TEXT PRIMARY KEY, pool TEXT NOT NULL, backend TEXT NOT NULL, state TEXT NOT NULL,
      ephemeral INTEGER NOT NULL DEFAULT 0, version TEXT, github_id INTEGER, labels TEXT NOT NULL DEFAULT '[]',
      busy INTEGER NOT NULL DEFAULT 0, ran_job INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL,
      started_at INTEGER, updated_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_retry_at INTEGER,
      last_exit_code INTEGER, last_error TEXT);
    CREATE INDEX runners_pool_state ON runners (pool, state);
    CREATE TABLE tokens (scope_key TEXT NOT NULL, kind TEXT NOT NULL, token TEXT NOT NULL, expires_at INTEGER NOT NULL,
      fetched_at INTEGER NOT NULL, PRIMARY KEY (scope_key, kind));
    CREATE TABLE runner_versions (version TEXT PRIMARY KEY, sha256 TEXT NOT NULL, path TEXT NOT NULL, fetched_at INTEGER NOT NULL);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO runners (name, pool, backend, state, labels, created_at, updated_at, github_id)
      VALUES ('h-cd-abc123', 'cd', 'docker', 'idle', '["self-hosted","cd"]', 5, 6, 42);
    INSERT INTO tokens VALUES ('org:acme', 'registration', 'AAAA', 99, 1);
    PRAGMA user_version = 1;
  `);
  v1.close();

  const store = openStore(dataDir);
  t.teardown(() => store.close());
  const row = store.runners.get('h-cd-abc123');
  // v5 forgets stored GitHub ids: older versions took them from the job-writable .runner unchecked.
  t.like(row, { state: 'idle', githubId: null, labels: ['self-hosted', 'cd'], reason: null, jobName: null, backend: 'docker' });
  t.is(store.tokens.get('org:acme', 'registration')?.token, 'AAAA');
  store.events.append({ kind: 'migrated', runner: null, pool: null, data: {} });
  t.is(store.events.recent(1)[0]?.kind, 'migrated');
  t.is(mode(dbPath), 0o600);
  t.false('attempts' in row!, 'the never-written backoff columns are dropped (v3)');
  const cols = new BetterSqlite3(dbPath, { readonly: true });
  t.teardown(() => cols.close());
  const names = (cols.prepare('PRAGMA table_info(runners)').all() as { name: string }[]).map((c) => c.name);
  t.false(names.includes('attempts') || names.includes('next_retry_at'));
});

test('a database from a newer schema is refused and left untouched', async (t) => {
  const dataDir = await tempDir(t);
  const dbPath = path.join(dataDir, 'state.db');
  const future = new BetterSqlite3(dbPath);
  future.exec(`CREATE TABLE future (x); PRAGMA user_version = ${SCHEMA_VERSION + 5};`);
  future.close();
  const before = fs.readFileSync(dbPath);

  const err = t.throws(() => openStore(dataDir));
  t.true(isFleetError(err, 'STORE_NEWER_SCHEMA'));
  t.true(isFleetError(t.throws(() => openStoreReadOnly(dataDir)), 'STORE_NEWER_SCHEMA'));
  t.deepEqual(fs.readFileSync(dbPath), before);
  t.false(fs.existsSync(dbPath + '-wal'));
});

test('runner rows: insert, get, list filters, update, transitions, purge, remove', async (t) => {
  const clock = new ManualClock(10_000);
  const store = openStore(await tempDir(t), { clock });
  t.teardown(() => store.close());

  const a = store.runners.insert(runner('h-cd-aaaaaa'));
  t.is(a.updatedAt, 10_000);
  t.deepEqual(a.labels, ['self-hosted', 'linux', 'x64', 'cd']);
  t.true(isFleetError(t.throws(() => store.runners.insert(runner('h-cd-aaaaaa'))), 'STORE_FAILED'));
  store.runners.insert(runner('h-big-bbbbbb', { pool: 'big', createdAt: 2000 }));

  clock.advance(5);
  const b = store.runners.update('h-cd-aaaaaa', { state: 'creating', githubId: 7, startedAt: 10_001 });
  t.like(b, { state: 'creating', githubId: 7, startedAt: 10_001, updatedAt: 10_005, ephemeral: true });
  t.like(store.runners.update('h-cd-aaaaaa', { state: 'idle' }), { state: 'idle' });
  t.like(store.runners.update('h-cd-aaaaaa', { state: 'busy', busy: true, ranJob: true, jobName: 'deploy' }), {
    busy: true,
    ranJob: true,
    jobName: 'deploy',
  });
  // Not allowed: back to pending_create from busy.
  t.true(isFleetError(t.throws(() => store.runners.update('h-cd-aaaaaa', { state: 'pending_create' })), 'STORE_FAILED'));
  t.true(isFleetError(t.throws(() => store.runners.update('nope', { lastError: 'x' })), 'STORE_FAILED'));

  t.deepEqual(store.runners.list({ pool: 'cd' }).map((r) => r.name), ['h-cd-aaaaaa']);
  t.deepEqual(store.runners.list({ states: ['pending_create'] }).map((r) => r.name), ['h-big-bbbbbb']);
  t.deepEqual(store.runners.list({ states: [] }), []);

  for (const s of ['pending_delete', 'deleting', 'gone'] as const) {
    store.runners.update('h-cd-aaaaaa', { state: s, reason: 'scale-down' });
  }
  t.true(isFleetError(t.throws(() => store.runners.update('h-cd-aaaaaa', { state: 'idle' })), 'STORE_FAILED'));
  // A gone row is history: inserting the same name again replaces it.
  t.like(store.runners.insert(runner('h-cd-aaaaaa', { state: 'idle', reason: 'adopted' })), { state: 'idle', reason: 'adopted', githubId: null });
  store.runners.update('h-cd-aaaaaa', { state: 'gone' });
  t.deepEqual(store.runners.list().map((r) => r.name), ['h-big-bbbbbb']);
  t.is(store.runners.list({ includeGone: true }).length, 2);
  t.is(store.runners.purgeGone(clock.now()), 0); // updated exactly now: not older
  clock.advance(1);
  t.is(store.runners.purgeGone(clock.now()), 1);
  store.runners.remove('h-big-bbbbbb');
  t.deepEqual(store.runners.list({ includeGone: true }), []);
});

test('failed rows retry: failed → pending_create, last exit and error kept', async (t) => {
  const store = openStore(await tempDir(t), { clock: new ManualClock(1) });
  t.teardown(() => store.close());
  store.runners.insert(runner('h-cd-cccccc'));
  store.runners.update('h-cd-cccccc', { state: 'failed', lastError: 'boom', lastExitCode: 1 });
  const r = store.runners.update('h-cd-cccccc', { state: 'pending_create' });
  t.like(r, { state: 'pending_create', lastError: 'boom', lastExitCode: 1 });
});

test('tokens, versions, tools, meta upsert and list', async (t) => {
  const store = openStore(await tempDir(t));
  t.teardown(() => store.close());
  store.tokens.put({ scopeKey: 'org:acme', kind: 'registration', token: 'T1', expiresAt: 100, fetchedAt: 1 });
  store.tokens.put({ scopeKey: 'org:acme', kind: 'registration', token: 'T2', expiresAt: 200, fetchedAt: 2 });
  store.tokens.put({ scopeKey: 'org:acme', kind: 'remove', token: 'R1', expiresAt: 300, fetchedAt: 3 });
  t.deepEqual(store.tokens.get('org:acme', 'registration'), {
    scopeKey: 'org:acme',
    kind: 'registration',
    token: 'T2',
    expiresAt: 200,
    fetchedAt: 2,
  });
  t.is(store.tokens.list().length, 2);
  t.is(store.tokens.get('repo:a/b', 'registration'), undefined);

  store.versions.put({ version: '2.330.0', sha256: 'ab', path: '/c/2.330.0', fetchedAt: 5 });
  t.is(store.versions.get('2.330.0')?.path, '/c/2.330.0');
  t.is(store.versions.list().length, 1);

  store.tools.put({ name: 'yq', version: 'v4', arch: 'x64', sha256: 'cd', path: '/t', versionOutput: null, installedAt: 9 });
  store.tools.put({ name: 'yq', version: 'v4', arch: 'x64', sha256: 'ef', path: '/t', versionOutput: 'yq 4', installedAt: 10 });
  t.like(store.tools.get('yq', 'v4', 'x64'), { sha256: 'ef', versionOutput: 'yq 4' });
  t.is(store.tools.list().length, 1);

  t.is(store.meta.get('x'), undefined);
  store.meta.set('x', '1');
  store.meta.set('x', '2');
  t.is(store.meta.get('x'), '2');
});

test('events: append with clock time, recent newest first, filters', async (t) => {
  const clock = new ManualClock(50);
  const store = openStore(await tempDir(t), { clock });
  t.teardown(() => store.close());
  store.events.append({ kind: 'created', runner: 'r1', pool: 'cd', data: { id: 1 } });
  clock.advance(10);
  store.events.append({ kind: 'deleted', runner: 'r1', pool: 'cd', data: { reason: 'scale-down' } });
  store.events.append({ kind: 'created', runner: 'r2', pool: 'cd', data: {}, at: 7 });
  const all = store.events.recent(10);
  t.deepEqual(all.map((e) => [e.kind, e.runner, e.at]), [
    ['created', 'r2', 7],
    ['deleted', 'r1', 60],
    ['created', 'r1', 50],
  ]);
  t.deepEqual(all[1]?.data, { reason: 'scale-down' });
  t.is(store.events.recent(1).length, 1);
  t.deepEqual(store.events.recent(10, { runner: 'r1', kind: 'created' }).map((e) => e.at), [50]);
});

test('transaction rolls back together; caller errors pass through unchanged', async (t) => {
  const store = openStore(await tempDir(t));
  t.teardown(() => store.close());
  const err = t.throws(() =>
    store.transaction(() => {
      store.meta.set('a', '1');
      store.runners.insert(runner('h-cd-dddddd'));
      throw new TypeError('caller bug');
    }),
  );
  t.true(err instanceof TypeError);
  t.is(store.meta.get('a'), undefined);
  t.is(store.runners.get('h-cd-dddddd'), undefined);
  t.is(store.transaction(() => 42), 42);
});

test('read-only store reads what the daemon wrote and refuses writes', async (t) => {
  const dataDir = await tempDir(t);
  const rw = openStore(dataDir);
  rw.runners.insert(runner('h-cd-eeeeee'));
  rw.close(); // daemon down
  const ro = openStoreReadOnly(dataDir);
  t.teardown(() => ro.close());
  t.is(ro.runners.list()[0]?.name, 'h-cd-eeeeee');
  t.true(isFleetError(t.throws(() => ro.meta.set('x', 'y')), 'STORE_FAILED'));
  t.true(isFleetError(t.throws(() => openStoreReadOnly(path.join(dataDir, 'missing'))), 'STORE_FAILED'));
});

test('read-only store works while the daemon holds the database open', async (t) => {
  const dataDir = await tempDir(t);
  const rw = openStore(dataDir);
  t.teardown(() => rw.close());
  rw.runners.insert(runner('h-cd-ffffff'));
  const ro = openStoreReadOnly(dataDir);
  t.teardown(() => ro.close());
  rw.runners.update('h-cd-ffffff', { state: 'creating' });
  t.is(ro.runners.get('h-cd-ffffff')?.state, 'creating');
});

test('a file that is not SQLite gives STORE_FAILED', async (t) => {
  const dataDir = await tempDir(t);
  fs.writeFileSync(path.join(dataDir, 'state.db'), 'this is not a database, just some text '.repeat(50));
  t.true(isFleetError(t.throws(() => openStore(dataDir)), 'STORE_FAILED'));
});

test('two processes opening a new database at once both end up on the latest schema', async (t) => {
  const dataDir = await tempDir(t);
  const { spawn } = await import('node:child_process');
  const script = `
    import { openStore } from ${JSON.stringify(path.resolve('src/store/index.ts'))};
    const s = openStore(process.argv.at(-1)); s.meta.set('pid', String(process.pid)); s.close();`;
  const codes = await Promise.all(
    [1, 2, 3].map(
      () =>
        new Promise<number | null>((resolve) => {
          const args = ['--import=tsx', '--input-type=module', '-e', script, dataDir];
          const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
          child.on('exit', resolve);
        }),
    ),
  );
  t.deepEqual(codes, [0, 0, 0]);
  const store = openStore(dataDir);
  t.teardown(() => store.close());
  t.truthy(store.meta.get('pid'));
});
