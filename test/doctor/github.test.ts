import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { ManualClock } from '../../src/clock.js';
import type { FleetConfig } from '../../src/config/types.js';
import { checkDataDir, checkGitHubCredentials, checkPublicExposure, checkRunnerVersion, checkTools } from '../../src/doctor/index.js';
import { createGitHubClient } from '../../src/github/client.js';
import { silentLogger } from '../../src/log.js';
import { openStore } from '../../src/store/index.js';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { tempDir } from '../runner/util.js';
import { config, context, pool } from './util.js';

function client(emu: Emulator, token = 'test-pat') {
  return createGitHubClient({ apiUrl: emu.apiUrl, auth: { kind: 'token', token }, logger: silentLogger(), retryBaseMs: 1, maxRateLimitWaitMs: 0 }).service;
}

test('credentials: a registration token per scope; a bad token fails with the permission to grant', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const dataDir = await tempDir(t, 'rf-doctor-');
  const pools = [pool(), pool({ name: 'app', scope: { kind: 'repo', owner: 'acme', repo: 'app' } }), pool({ name: 'cd2' })];
  const cfg = config(dataDir, { pools });
  const good = await checkGitHubCredentials(context(cfg, { github: client(emu) }));
  t.deepEqual(good.map((r) => [r.name, r.status]), [['github org acme', 'ok'], ['github repo acme/app', 'ok']]);

  const bad = await checkGitHubCredentials(context(cfg, { github: client(emu, 'wrong') }));
  t.deepEqual(bad.map((r) => r.status), ['fail', 'fail']);
  t.regex(bad[0]!.hint!, /admin:org/);
  t.regex(bad[1]!.hint!, /repo/);

  const missing = await checkGitHubCredentials(context(config(dataDir, { pools: [pool({ scope: { kind: 'org', org: 'nope' } })] }), { github: client(emu) }));
  t.is(missing[0]?.status, 'fail');
});

test('public exposure: public repo without allowPublicRepos, org group allowing public repos', async (t) => {
  const emu = await startEmulator({
    repos: [{ fullName: 'acme/app', visibility: 'private' }, { fullName: 'acme/site', visibility: 'public' }],
    runnerGroups: [{ org: 'acme', name: 'open', allowsPublicRepositories: true }],
  });
  t.teardown(() => emu.close());
  const dataDir = await tempDir(t, 'rf-doctor-');
  const pools = [
    pool({ name: 'private', scope: { kind: 'repo', owner: 'acme', repo: 'app' } }),
    pool({ name: 'public', scope: { kind: 'repo', owner: 'acme', repo: 'site' } }),
    pool({ name: 'public-ok', scope: { kind: 'repo', owner: 'acme', repo: 'site' }, allowPublicRepos: true }),
    pool({ name: 'org-default' }),
    pool({ name: 'org-open', runnerGroup: 'open' }),
  ];
  const rows = await checkPublicExposure(context(config(dataDir, { pools }), { github: client(emu) }));
  t.deepEqual(rows.map((r) => r.status), ['ok', 'fail', 'warn', 'ok', 'fail']);
});

test('runner version age: behind a newer release warns, then fails after 30 days', async (t) => {
  const emu = await startEmulator({ runnerVersions: ['2.329.0', '2.330.0'] });
  t.teardown(() => emu.close());
  const dataDir = await tempDir(t, 'rf-doctor-');
  const store = openStore(dataDir);
  t.teardown(() => store.close());
  const clock = new ManualClock();
  fs.mkdirSync(path.join(dataDir, 'cache', 'runner', '2.329.0'), { recursive: true });
  const pinned = (v: string): Partial<FleetConfig> => ({ runner: { version: v, sha256: 'a'.repeat(64), updateSchedule: '0 4 * * *' } });
  const ctx = (v: string) => context(config(dataDir, pinned(v)), { github: client(emu), store, now: () => clock.now(), arch: 'x64' });

  t.is((await checkRunnerVersion(ctx('2.329.0')))[0]?.status, 'warn');
  clock.advance(31 * 86_400_000);
  const late = (await checkRunnerVersion(ctx('2.329.0')))[0]!;
  t.is(late.status, 'fail');
  t.truthy(late.hint);

  fs.mkdirSync(path.join(dataDir, 'cache', 'runner', '2.330.0'));
  t.is((await checkRunnerVersion(ctx('2.330.0')))[0]?.status, 'ok');
  // latest: the newest cached version counts.
  t.is((await checkRunnerVersion(context(config(dataDir), { github: client(emu), store, now: () => clock.now(), arch: 'x64' })))[0]?.status, 'ok');
});

test('data dir: 0700 ok, group/world-writable fails, missing warns', async (t) => {
  const dataDir = await tempDir(t, 'rf-doctor-');
  fs.chmodSync(dataDir, 0o700);
  t.is((await checkDataDir(context(config(dataDir))))[0]?.status, 'ok');
  fs.chmodSync(dataDir, 0o777);
  t.is((await checkDataDir(context(config(dataDir))))[0]?.status, 'fail');
  fs.chmodSync(dataDir, 0o750);
  t.is((await checkDataDir(context(config(dataDir))))[0]?.status, 'warn');
  t.is((await checkDataDir(context(config(path.join(dataDir, 'missing')))))[0]?.status, 'warn');
});

test('tools: missing warns, tampered fails', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const dataDir = await tempDir(t, 'rf-doctor-');
  const body = '#!/bin/sh\necho yq\n';
  const { createHash } = await import('node:crypto');
  const tool = { name: 'yq', version: 'v4', url: emu.serveFile('yq', body), sha256: createHash('sha256').update(body).digest('hex') };
  const cfg = config(dataDir, { tools: [tool] });
  t.is((await checkTools(context(cfg, { arch: 'x64' })))[0]?.status, 'warn');
  const { installTool } = await import('../../src/tools/index.js');
  const inst = await installTool(tool, { dataDir, fetch, arch: 'x64' });
  t.is((await checkTools(context(cfg, { arch: 'x64' })))[0]?.status, 'ok');
  fs.appendFileSync(inst.binPath, 'echo pwned\n');
  t.is((await checkTools(context(cfg, { arch: 'x64' })))[0]?.status, 'fail');
});
