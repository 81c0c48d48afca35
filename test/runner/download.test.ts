import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { FleetError } from '../../src/errors.js';
import { createGitHubClient } from '../../src/github/client.js';
import { silentLogger } from '../../src/log.js';
import { ensureRunnerCached, resolveRunnerRelease, RunnerCache, runnerCacheDir } from '../../src/runner/download.js';
import { startEmulator } from '../emulator/index.js';
import { cacheFixture, countingFetch } from './util.js';

const scope = { kind: 'org', org: 'acme' } as const;
const cfgRunner = (r: Partial<{ version: string; url: string; sha256: string }>) => ({
  runner: { version: 'latest', updateSchedule: '0 4 * * *', ...r },
});

test('latest resolves from runners/downloads; the download is verified, extracted once, and recorded', async (t) => {
  const { emu, dataDir, store } = await cacheFixture(t);
  const gh = createGitHubClient({ apiUrl: emu.apiUrl, auth: { kind: 'token', token: 'test-pat' }, logger: silentLogger() });

  const rel = await resolveRunnerRelease(cfgRunner({}), gh.service, scope, 'x64');
  t.is(rel.version, '2.330.0');
  t.is(rel.sha256, emu.runnerRelease('2.330.0').sha256);

  const { fetch, calls } = countingFetch();
  const progress: number[] = [];
  const opts = { dataDir, version: rel.version, url: rel.url, sha256: rel.sha256, fetch, store, onProgress: (p: { received: number }) => progress.push(p.received) };
  // Two concurrent callers of one cache: single flight, one request.
  const cache = new RunnerCache();
  const [a, b] = await Promise.all([cache.ensure(opts), cache.ensure(opts)]);
  t.is(calls.length, 1);
  t.true(a.downloaded);
  t.is(a.path, b.path);
  t.true(progress.length > 0);
  t.true(fs.existsSync(path.join(runnerCacheDir(dataDir, '2.330.0'), 'config.sh')));
  t.true(fs.existsSync(path.join(runnerCacheDir(dataDir, '2.330.0'), 'bin')));
  t.is(store.versions.get('2.330.0')?.sha256, rel.sha256);

  const again = await ensureRunnerCached(opts);
  t.false(again.downloaded);
  t.is(calls.length, 1, 'already cached: no network');
  // No temp files or tarballs left behind.
  t.deepEqual(fs.readdirSync(path.dirname(a.path)).filter((e) => e.startsWith('.')), []);
});

test('a checksum mismatch is refused and leaves nothing in the cache', async (t) => {
  const { dataDir, store, rel } = await cacheFixture(t);
  const err = await t.throwsAsync(
    ensureRunnerCached({ dataDir, version: '2.330.0', url: rel.url, sha256: 'a'.repeat(64), fetch, store }),
  );
  t.is((err as FleetError).code, 'CHECKSUM_MISMATCH');
  t.false(fs.existsSync(runnerCacheDir(dataDir, '2.330.0')));
  t.deepEqual(fs.readdirSync(path.join(dataDir, 'cache', 'runner')).filter((e) => !e.endsWith('.lock')), []);
  t.is(store.versions.get('2.330.0'), undefined);
});

test('pinned versions: mirror template, downloads match, release URL needs sha256', async (t) => {
  const emu = await startEmulator({ runnerVersions: ['2.330.0'] });
  t.teardown(() => emu.close());
  const gh = createGitHubClient({ apiUrl: emu.apiUrl, auth: { kind: 'token', token: 'test-pat' }, logger: silentLogger() });
  const sha = 'b'.repeat(64);

  const mirror = await resolveRunnerRelease(
    cfgRunner({ version: '2.329.0', url: 'https://mirror.internal/r/{version}/actions-runner-{os}-{arch}-{version}.tar.gz', sha256: sha }),
    { downloads: () => Promise.reject(new Error('must not be called')) },
    scope,
    'arm64',
  );
  t.is(mirror.url, 'https://mirror.internal/r/2.329.0/actions-runner-linux-arm64-2.329.0.tar.gz');
  t.is(mirror.sha256, sha);

  const matching = await resolveRunnerRelease(cfgRunner({ version: '2.330.0' }), gh.service, scope, 'x64');
  t.is(matching.url, emu.runnerRelease('2.330.0').url);

  const unknown = await t.throwsAsync(resolveRunnerRelease(cfgRunner({ version: '2.320.0' }), gh.service, scope, 'x64'));
  t.is((unknown as FleetError).code, 'VERSION_UNKNOWN');

  const release = await resolveRunnerRelease(cfgRunner({ version: '2.320.0', sha256: sha }), gh.service, scope, 'x64');
  t.is(release.url, 'https://github.com/actions/runner/releases/download/v2.320.0/actions-runner-linux-x64-2.320.0.tar.gz');

  const noSha = await t.throwsAsync(
    resolveRunnerRelease(cfgRunner({ version: '2.320.0', url: 'https://m/{version}.tar.gz' }), gh.service, scope, 'x64'),
  );
  t.is((noSha as FleetError).code, 'VERSION_UNKNOWN');
});
