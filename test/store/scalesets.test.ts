import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import BetterSqlite3 from 'better-sqlite3';
import { openStore } from '../../src/store/index.js';

const base = { pool: 'burst', scopeKey: 'org:acme', name: 'h1-burst', scaleSetId: 7, runnerGroupId: 1, lastMessageId: 0, statistics: {} };

test('scale sets: lastMessageId and statistics survive a reopen; a recreated scale set (new id) starts afresh', async (t) => {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'rf-store-ss-'));
  t.teardown(() => fs.promises.rm(dir, { recursive: true, force: true }));
  let store = openStore(dir);
  store.scaleSets.put(base);
  store.scaleSets.update('burst', { lastMessageId: 42, statistics: { totalAssignedJobs: 3 } });
  store.close();
  store = openStore(dir);
  t.like(store.scaleSets.get('burst'), { lastMessageId: 42, statistics: { totalAssignedJobs: 3 } });
  store.scaleSets.put(base); // same id again (restart): kept
  t.is(store.scaleSets.get('burst')!.lastMessageId, 42);
  store.scaleSets.put({ ...base, scaleSetId: 8 });
  t.like(store.scaleSets.get('burst'), { scaleSetId: 8, lastMessageId: 0, statistics: {} });
  store.scaleSets.remove('burst');
  t.deepEqual(store.scaleSets.list(), []);
  store.close();
});

test('a database from before scale sets migrates to one with the scale_sets table', async (t) => {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'rf-store-ss-'));
  t.teardown(() => fs.promises.rm(dir, { recursive: true, force: true }));
  openStore(dir).close();
  const raw = new BetterSqlite3(path.join(dir, 'state.db'));
  // v4 added scale_sets: a v3 database.
  raw.exec(`DROP TABLE scale_sets; PRAGMA user_version = 3;`);
  raw.close();
  const store = openStore(dir);
  store.scaleSets.put(base);
  t.is(store.scaleSets.list().length, 1);
  store.close();
});
