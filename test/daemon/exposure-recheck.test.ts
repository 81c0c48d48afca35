import test from 'ava';
import { startEmulator } from '../emulator/index.js';
import { poolYaml, startTestDaemon, until } from '../helpers/daemon.js';
import { deliver, workflowJob } from '../api/helpers.js';
import type { Emulator } from '../emulator/types.js';
import { httpStatus, online, requestCount, stopAndKillRunners } from './lifecycle-kit.js';

/** GET /repos/{owner}/{repo} itself, not the routes below it. */
const repoReads = (emu: Emulator, status: number) =>
  emu.requests().filter((r) => r.method === 'GET' && r.route === '/repos/{owner}/{repo}' && r.status === status).reduce((n, r) => n + r.count, 0);

test('public-repo and runner-group checks re-run (304s while unchanged); a repo or group opened later gets no new runners and its idle ones retire', async (t) => {
  t.timeout(2 * 60_000);
  const emu = await startEmulator({
    repos: [{ fullName: 'acme/site', visibility: 'private' }],
    runnerGroups: [{ org: 'acme', name: 'deploy' }],
  });
  t.teardown(() => emu.close());
  const pools = poolYaml({ name: 'site', scope: '{ repo: acme/site }' }) + poolYaml({ name: 'grp', runnerGroup: 'deploy' }) + poolYaml({ name: 'cd' });
  const fx = await startTestDaemon(t, emu, pools, { daemon: { exposureCheckIntervalMs: 300 } });
  t.teardown(() => stopAndKillRunners(fx));
  await until(() => ['site', 'grp', 'cd'].every((p) => online(emu, p).length === 1), 30_000, 'three pools online');

  // Re-checks while nothing changed are conditional: 304, free on GitHub's rate limit.
  await until(() => repoReads(emu, 304) >= 3, 10_000, 'conditional re-checks');
  t.is(repoReads(emu, 200), 1, 'one full read of the repository');
  t.true(requestCount(emu, '/runner-groups', { status: 304 }) >= 3);

  // Made public later: the pool stops at once and its idle runner retires.
  const jitBefore = requestCount(emu, '/generate-jitconfig');
  emu.setRepoVisibility('acme/site', 'public');
  await until(() => online(emu, 'site').length === 0 && fx.daemon.reconciler.liveCount('site') === 0, 20_000, 'site pool retired');
  const site = (await httpStatus(fx)).pools.find((p) => p.name === 'site')!;
  t.is(site.errorCode, 'PUBLIC_REPO_REFUSED');
  t.false(site.healthy);

  // A group that starts allowing public repositories is the same exposure.
  emu.setGroupAllowsPublic('acme', 'deploy', true);
  await until(() => online(emu, 'grp').length === 0 && fx.daemon.reconciler.liveCount('grp') === 0, 20_000, 'grp pool retired');
  t.is((await httpStatus(fx)).pools.find((p) => p.name === 'grp')!.errorCode, 'PUBLIC_REPO_REFUSED');
  t.is(requestCount(emu, '/generate-jitconfig'), jitBefore, 'no runner started for either since');
  t.is(online(emu, 'cd').length, 1, 'the other pool runs on');

  // Private again: the pool comes back by itself.
  emu.setRepoVisibility('acme/site', 'private');
  await until(() => online(emu, 'site').length === 1, 30_000, 'site back');
  t.true((await httpStatus(fx)).pools.find((p) => p.name === 'site')!.healthy);
});

test('a workflow_job delivery from a repository that is now public re-checks its pool at once', async (t) => {
  const emu = await startEmulator({ repos: [{ fullName: 'acme/site', visibility: 'private' }] });
  t.teardown(() => emu.close());
  const fx = await startTestDaemon(t, emu, poolYaml({ name: 'site', scope: '{ repo: acme/site }' }), { daemon: { exposureCheckIntervalMs: 3_600_000 } });
  t.teardown(() => stopAndKillRunners(fx));
  await until(() => online(emu, 'site').length === 1, 30_000, 'site online');
  emu.setRepoVisibility('acme/site', 'public');
  const payload = workflowJob(7, 'queued');
  (payload.repository as Record<string, unknown>) = { full_name: 'acme/site', private: false };
  t.is((await deliver(`http://127.0.0.1:${fx.daemon.apiPort}`, payload, { secret: 'test-secret' })).status, 202);
  await until(() => fx.daemon.reconciler.liveCount('site') === 0, 20_000, 'site pool retired');
  t.is(fx.daemon.reconciler.pools.get('site')!.errorCode, 'PUBLIC_REPO_REFUSED');
});
