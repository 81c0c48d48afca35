import test, { type ExecutionContext } from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { isFleetError } from '../../src/errors.js';
import { hookPaths, hookScript, readJobState } from '../../src/runner/hooks.js';
import { RootFileCache } from '../../src/runner/root-file-cache.js';
import { tempDir } from '../helpers/temp.js';

const run = promisify(execFile);
const JOB = path.join('.rf', 'job');

/** Every read counts as settled: what is left to decide a re-read is the file's lstat alone. */
const settled = () => new RootFileCache({ now: () => Date.now() + 3_600_000 });

async function root(t: ExecutionContext): Promise<string> {
  const dir = await tempDir(t, 'rf-rfcache-');
  await fs.mkdir(path.join(dir, '.rf'));
  return dir;
}

/** Waits (no timer) until the kernel's clock has moved past `ctimeNs`, touching only the ctime. */
async function pastCtime(file: string, ctimeNs: bigint): Promise<void> {
  while ((await fs.lstat(file, { bigint: true })).ctimeNs === ctimeNs) await fs.chmod(file, 0o644);
}

test('an unchanged file is answered from memory; a new one (hooks: tmp + mv) is read', async (t) => {
  const dir = await root(t);
  const cache = settled();
  await fs.writeFile(path.join(dir, JOB), 'one\n');
  t.is(await cache.read(dir, JOB), 'one\n');
  t.is(await cache.read(dir, JOB), 'one\n');
  t.deepEqual(cache.counts, { hits: 1, reads: 1 });
  await fs.writeFile(path.join(dir, '.rf', 'tmp'), 'two\n');
  await fs.rename(path.join(dir, '.rf', 'tmp'), path.join(dir, JOB));
  t.is(await cache.read(dir, JOB), 'two\n');
  await fs.rm(path.join(dir, JOB));
  t.is(await cache.read(dir, JOB), undefined);
});

test('a file rewritten in place with the same size and its old mtime is read again: ctime changed', async (t) => {
  const dir = await root(t);
  const file = path.join(dir, JOB);
  const cache = settled();
  await fs.writeFile(file, '{"state":"busy"}\n');
  // A whole second: utimes() can put it back exactly (its nanoseconds pass through a double).
  await fs.utimes(file, 1_000_000, 1_000_000);
  const before = await fs.lstat(file, { bigint: true });
  t.is(await cache.read(dir, JOB), '{"state":"busy"}\n');
  await pastCtime(file, before.ctimeNs);
  // Same inode, same size, mtime put back: only the kernel's ctime tells the change.
  await fs.writeFile(file, '{"state":"idle"}\n');
  await fs.utimes(file, 1_000_000, 1_000_000);
  const after = await fs.lstat(file, { bigint: true });
  t.is(after.ino, before.ino);
  t.is(after.size, before.size);
  t.is(after.mtimeNs, before.mtimeNs);
  t.is(await cache.read(dir, JOB), '{"state":"idle"}\n');
  t.deepEqual(cache.counts, { hits: 0, reads: 2 });
});

test('an absent file is looked for again only when its directory changed', async (t) => {
  const dir = await root(t);
  const rf = path.join(dir, '.rf');
  const cache = settled();
  t.is(await cache.read(dir, JOB), undefined);
  t.is(await cache.read(dir, JOB), undefined);
  t.deepEqual(cache.counts, { hits: 1, reads: 1 });
  await pastCtime(rf, (await fs.lstat(rf, { bigint: true })).ctimeNs);
  await fs.writeFile(path.join(dir, JOB), 'appeared\n');
  t.is(await cache.read(dir, JOB), 'appeared\n');
  // A job that swaps the whole directory for a link: its lstat differs, the read refuses it.
  await fs.rm(path.join(dir, JOB));
  t.is(await cache.read(dir, JOB), undefined);
  const elsewhere = await tempDir(t, 'rf-rfcache-out-');
  execFileSync('mkfifo', [path.join(elsewhere, 'job')]);
  await fs.rm(rf, { recursive: true });
  await fs.symlink(elsewhere, rf);
  const err = await t.throwsAsync(cache.read(dir, JOB));
  t.true(isFleetError(err, 'RUNNER_FILE_REFUSED'));
});

test('a file changed within the last seconds is read every time, even with its stat unchanged (timestamp granularity)', async (t) => {
  const dir = await root(t);
  const cache = new RootFileCache();
  await fs.writeFile(path.join(dir, JOB), 'fresh\n');
  for (let i = 0; i < 3; i++) t.is(await cache.read(dir, JOB), 'fresh\n');
  t.deepEqual(cache.counts, { hits: 0, reads: 3 });
});

test('a cached file a job swaps for a link, a FIFO, or reaches through a linked .rf is refused at once, never served from memory', async (t) => {
  for (const swap of ['link', 'fifo', 'rf-link'] as const) {
    const dir = await root(t);
    const file = path.join(dir, JOB);
    const cache = settled();
    await fs.writeFile(file, 'ok\n');
    t.is(await cache.read(dir, JOB), 'ok\n');
    const elsewhere = await tempDir(t, 'rf-rfcache-out-');
    await fs.writeFile(path.join(elsewhere, 'job'), 'ok\n');
    if (swap === 'link') {
      await fs.rm(file);
      await fs.symlink(path.join(elsewhere, 'job'), file);
    } else if (swap === 'fifo') {
      await fs.rm(file);
      execFileSync('mkfifo', [file]);
    } else {
      await fs.rm(path.join(dir, '.rf'), { recursive: true });
      await fs.symlink(elsewhere, path.join(dir, '.rf'));
    }
    const err = await t.throwsAsync(cache.read(dir, JOB));
    t.true(isFleetError(err, 'RUNNER_FILE_REFUSED'), swap);
  }
});

test('the real hooks through the cache: busy, then idle, then busy again are each seen', async (t) => {
  const dir = await tempDir(t, 'rf-rfcache-hooks-');
  const p = hookPaths(dir);
  await fs.mkdir(path.dirname(p.started), { recursive: true });
  await fs.writeFile(p.started, hookScript('busy'), { mode: 0o755 });
  await fs.writeFile(p.completed, hookScript('idle'), { mode: 0o755 });
  const cache = settled();
  t.is(await readJobState(dir, cache), null);
  for (const [hook, state] of [[p.started, 'busy'], [p.completed, 'idle'], [p.started, 'busy']] as const) {
    await run('bash', ['-e', hook], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GITHUB_RUN_ID: '42' } });
    t.is((await readJobState(dir, cache))?.state, state);
    t.is((await readJobState(dir, cache))?.state, state, 'and again, from memory');
  }
  t.is(cache.counts.hits, 3);
});

test('retain() forgets the files of runners that are gone', async (t) => {
  const dir = await root(t);
  const cache = settled();
  const a = path.join(dir, 'a');
  const b = path.join(dir, 'b');
  for (const r of [a, b]) {
    await fs.mkdir(path.join(r, '.rf'), { recursive: true });
    await fs.writeFile(path.join(r, JOB), 'x\n');
    await cache.read(r, JOB);
  }
  t.is(cache.size, 2);
  cache.retain([path.join(a, JOB)]);
  t.is(cache.size, 1);
  t.is(await cache.read(a, JOB), 'x\n');
  t.is(cache.counts.hits, 1);
});
