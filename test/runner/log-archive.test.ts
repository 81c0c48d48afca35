import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { createLogArchive } from '../../src/runner/log-archive.js';

test('the log archive keeps the last N runners, each file 0600 and capped to its tail', async (t) => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'rf-logs-'));
  t.teardown(() => fs.rm(dataDir, { recursive: true, force: true }));
  const a = createLogArchive({ dataDir, keep: 3, maxBytes: 16 });
  for (let i = 0; i < 5; i++) {
    await a.save(`h1-cd-r${i}aaaaa`, `line ${i} ${'x'.repeat(30)} end-${i}`);
    // mtime orders the files: give each save its own second in the past.
    const at = new Date(Date.now() - (100 - i) * 1000);
    await fs.utimes(path.join(dataDir, 'logs', `h1-cd-r${i}aaaaa.log`), at, at);
  }
  const files = (await fs.readdir(path.join(dataDir, 'logs'))).sort();
  t.deepEqual(files, ['h1-cd-r2aaaaa.log', 'h1-cd-r3aaaaa.log', 'h1-cd-r4aaaaa.log']);
  t.is(await a.read('h1-cd-r0aaaaa'), undefined);
  const kept = (await a.read('h1-cd-r4aaaaa'))!;
  t.true(kept.length <= 16 && kept.endsWith('end-4'));
  t.is((await fs.stat(path.join(dataDir, 'logs', 'h1-cd-r4aaaaa.log'))).mode & 0o777, 0o600);
  t.is((await fs.stat(path.join(dataDir, 'logs'))).mode & 0o777, 0o700);
  await t.throwsAsync(a.save('../escape', 'x'));
});
