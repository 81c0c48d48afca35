import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { FleetError } from '../../src/errors.js';
import { runnerCacheDir } from '../../src/runner/download.js';
import { benchPrepare, prepareRunnerDir, readJobState, removeRunnerDir } from '../../src/runner/prepare.js';
import { tempDir } from './util.js';

function fakeCache(dataDir: string, version: string): string {
  const cache = runnerCacheDir(dataDir, version);
  fs.mkdirSync(path.join(cache, 'bin'), { recursive: true });
  fs.mkdirSync(path.join(cache, 'externals'), { recursive: true });
  fs.writeFileSync(path.join(cache, 'bin', 'Runner.Listener'), '#!/bin/sh\n', { mode: 0o755 });
  for (const f of ['config.sh', 'run.sh', 'env.sh']) fs.writeFileSync(path.join(cache, f), '#!/bin/bash\n', { mode: 0o755 });
  fs.writeFileSync(path.join(cache, '.env'), 'SHOULD_NOT=LINK\n'); // a file the runner writes: never linked
  return cache;
}

test('prepare links the cache, writes .env/.path/hooks, and removal leaves the cache alone', async (t) => {
  const dataDir = await tempDir(t);
  const cache = fakeCache(dataDir, '2.330.0');
  const { root } = prepareRunnerDir({
    dataDir,
    name: 'h-cd-abc123',
    version: '2.330.0',
    env: { RUNNER_TOOL_CACHE: '/x/tools', HTTPS_PROXY: 'http://p:3128' },
    pathDirs: ['/x/tools/yq/v4/x64', '/usr/bin', '/bin'],
  });
  t.is(root, path.join(dataDir, 'runners', 'h-cd-abc123'));
  t.is(fs.statSync(root).mode & 0o777, 0o700);
  // The runner resolves its root through symlinks, so files are hard links (same inode, no copy).
  const sameInode = (a: string, b: string) => fs.statSync(a).ino === fs.statSync(b).ino;
  for (const e of ['bin/Runner.Listener', 'config.sh', 'run.sh', 'env.sh']) {
    t.false(fs.lstatSync(path.join(root, e)).isSymbolicLink(), e);
    t.true(sameInode(path.join(root, e), path.join(cache, e)), e);
  }
  t.true(fs.lstatSync(path.join(root, 'bin')).isDirectory());
  t.is(fs.readlinkSync(path.join(root, 'externals')), path.join(cache, 'externals'));
  t.false(fs.lstatSync(path.join(root, '.env')).isSymbolicLink());
  const envFile = fs.readFileSync(path.join(root, '.env'), 'utf8');
  t.regex(envFile, /^RUNNER_TOOL_CACHE=\/x\/tools$/m);
  t.regex(envFile, /^HTTPS_PROXY=http:\/\/p:3128$/m);
  t.regex(envFile, new RegExp(`^ACTIONS_RUNNER_HOOK_JOB_STARTED=${root}/.rf/hooks/job-started.sh$`, 'm'));
  t.regex(envFile, new RegExp(`^ACTIONS_RUNNER_HOOK_JOB_COMPLETED=${root}/.rf/hooks/job-completed.sh$`, 'm'));
  t.is(fs.readFileSync(path.join(root, '.path'), 'utf8'), '/x/tools/yq/v4/x64:/usr/bin:/bin\n');

  // Version roll: links move to the new cache, no copying.
  const cache2 = fakeCache(dataDir, '2.331.0');
  prepareRunnerDir({ dataDir, name: 'h-cd-abc123', version: '2.331.0', env: {}, pathDirs: ['/bin'] });
  t.true(sameInode(path.join(root, 'bin', 'Runner.Listener'), path.join(cache2, 'bin', 'Runner.Listener')));
  t.is(fs.readlinkSync(path.join(root, 'externals')), path.join(cache2, 'externals'));

  await removeRunnerDir(dataDir, 'h-cd-abc123');
  t.false(fs.existsSync(root));
  t.true(fs.existsSync(path.join(cache, 'bin', 'Runner.Listener')));
});

test('containers get mount points and read-only mounts instead of links: nothing in the root shares an inode with the cache', async (t) => {
  const dataDir = await tempDir(t);
  const cache = fakeCache(dataDir, '2.330.0');
  const name = 'h-cd-mount01';
  // An older layout (hard links, externals symlink) is replaced on the next prepare.
  prepareRunnerDir({ dataDir, name, version: '2.330.0', env: {}, pathDirs: ['/bin'] });
  const { root, mounts } = prepareRunnerDir({ dataDir, name, version: '2.330.0', env: {}, pathDirs: ['/bin'], shared: 'mounts' });
  const cacheInodes = new Set((fs.readdirSync(cache, { recursive: true }) as string[]).map((e) => fs.statSync(path.join(cache, e)).ino));
  for (const e of fs.readdirSync(root, { recursive: true }) as string[]) {
    const st = fs.lstatSync(path.join(root, e));
    t.false(st.isSymbolicLink(), e);
    t.false(cacheInodes.has(st.ino), `${e} shares an inode with the cache`);
  }
  t.deepEqual(fs.readdirSync(path.join(root, 'bin')), [], 'bin/ is an empty mount point');
  t.is(fs.statSync(path.join(root, 'config.sh')).size, 0);
  t.deepEqual(
    mounts.map((m) => [path.relative(cache, m.source), path.relative(root, m.target), m.readOnly]).sort(),
    ['bin', 'config.sh', 'env.sh', 'externals', 'run.sh'].map((e) => [e, e, true]),
  );
});

test('the job hooks atomically write the job state file the daemon reads', async (t) => {
  const dataDir = await tempDir(t);
  fakeCache(dataDir, '2.330.0');
  const { root } = prepareRunnerDir({ dataDir, name: 'h-cd-hook01', version: '2.330.0', env: {}, pathDirs: ['/bin'] });
  t.is(await readJobState(root), null);
  const env = { PATH: '/usr/bin:/bin', GITHUB_JOB: 'deploy "prod"', GITHUB_RUN_ID: '9876543210' };
  // The runner runs hooks as `bash -e <script>`.
  execFileSync('bash', ['-e', path.join(root, '.rf/hooks/job-started.sh')], { env });
  const busy = await readJobState(root);
  t.is(busy?.state, 'busy');
  t.is(busy?.job, 'deploy "prod"');
  t.is(busy?.runId, 9876543210, 'the run the job belongs to (matches the webhook run_id)');
  t.true(typeof busy?.at === 'number' && Math.abs(busy.at - Date.now()) < 60_000);
  execFileSync('bash', ['-e', path.join(root, '.rf/hooks/job-completed.sh')], { env });
  t.is((await readJobState(root))?.state, 'idle');
  t.deepEqual(fs.readdirSync(path.join(root, '.rf')).sort(), ['hooks', 'job']);
  // A missing or odd run id is left out, never a file the daemon cannot parse.
  for (const run of ['', '0123', '12a', '-1']) {
    execFileSync('bash', ['-e', path.join(root, '.rf/hooks/job-started.sh')], { env: { ...env, GITHUB_RUN_ID: run } });
    const s = await readJobState(root);
    t.is(s?.state, 'busy', `GITHUB_RUN_ID=${run}`);
    t.is(s?.runId, undefined);
  }
});

test('bad names and env values are refused; an uncached version is an error', async (t) => {
  const dataDir = await tempDir(t);
  fakeCache(dataDir, '2.330.0');
  const code = (f: () => unknown) => (t.throws(f) as FleetError).code;
  t.is(code(() => prepareRunnerDir({ dataDir, name: '../evil', version: '2.330.0', env: {}, pathDirs: [] })), 'RUNNER_PREPARE');
  t.is(code(() => prepareRunnerDir({ dataDir, name: 'h-cd-nl0001', version: '2.330.0', env: { A: 'x\nGITHUB_TOKEN=y' }, pathDirs: [] })), 'RUNNER_PREPARE');
  t.is(code(() => prepareRunnerDir({ dataDir, name: 'h-cd-nv0001', version: '9.9.9', env: {}, pathDirs: [] })), 'RUNNER_PREPARE');
});

// Time is shown by `npm run bench`; here only the disk cost, which does not depend on load.
test('a prepared runner dir costs well under 1 MB of disk: nothing is copied', async (t) => {
  const dataDir = await tempDir(t);
  const r = benchPrepare(5, { dataDir });
  t.true(r.bytesPerRunner <= 1024 * 1024);
});
