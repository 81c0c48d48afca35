import test from 'ava';
import { promises as fs } from 'node:fs';
import { loadConfig } from '../../src/config/load.js';
import { startEmulator } from '../emulator/index.js';
import { emulatorConfigYaml, poolYaml, startTestDaemon, until } from '../helpers/daemon.js';
import { httpStatus, online, requestCount, stopAndKillRunners } from './lifecycle-kit.js';

const REPOS = [
  { fullName: 'acme/site', visibility: 'public' as const },
  { fullName: 'acme/app', visibility: 'private' as const },
];

function pools(allowPublic: boolean): string {
  return [
    poolYaml({ name: 'cd', size: 1 }),
    poolYaml({ name: 'site', scope: '{ repo: acme/site }', extra: allowPublic ? '    allowPublicRepos: true\n' : '' }),
    // An org group that lets public repositories in is the same exposure.
    poolYaml({ name: 'pub', runnerGroup: 'public-ok' }),
  ].join('');
}

test('public repository guard: refused pools register nothing and say why; the other pool runs on; allowPublicRepos lifts it', async (t) => {
  const emu = await startEmulator({ repos: REPOS, runnerGroups: [{ org: 'acme', name: 'public-ok', allowsPublicRepositories: true }] });
  t.teardown(() => emu.close());
  const fx = await startTestDaemon(t, emu, pools(false));
  t.teardown(() => stopAndKillRunners(fx));

  await until(() => online(emu, 'cd').length === 1, 30_000, 'private pool online');
  // A few more passes: the refused pools still start nothing.
  for (let i = 0; i < 3; i++) await fx.daemon.reconciler.trigger();
  await fx.daemon.reconciler.settled();
  t.is(emu.runners().filter((r) => r.scopeKey === 'repo:acme/site').length, 0);
  t.is(online(emu, 'pub').length, 0);
  t.is(requestCount(emu, '/repos/{owner}/{repo}/actions/runners/generate-jitconfig'), 0, 'not even a JIT config was asked for');
  t.is(fx.daemon.store.runners.list({ pool: 'site', includeGone: true }).length, 0);

  for (const name of ['site', 'pub']) {
    t.is(fx.daemon.reconciler.pools.get(name)!.errorCode, 'PUBLIC_REPO_REFUSED', name);
    const p = (await httpStatus(fx)).pools.find((x) => x.name === name)!;
    t.false(p.healthy, name);
    t.is(p.actual, 0);
    t.is(p.error?.split(':')[0], 'PUBLIC_REPO_REFUSED', name);
  }
  const cd = (await httpStatus(fx)).pools.find((x) => x.name === 'cd')!;
  t.true(cd.healthy);
  t.is(cd.actual, 1);
  const metrics = await fx.daemon.metrics.render();
  t.regex(metrics, /runner_fleet_pool_healthy\{pool="site"\} 0/);

  // Opting in (a reload with allowPublicRepos: true) lets the pool start after its backoff.
  await fs.writeFile(fx.configPath, emulatorConfigYaml(emu, fx.config.host.dataDir, pools(true)));
  fx.daemon.reload(await loadConfig(fx.configPath, {}));
  await until(() => online(emu, 'site').length === 1, 30_000, 'public repo pool online after opting in');
  t.is(online(emu, 'site')[0]!.scopeKey, 'repo:acme/site');
  await until(async () => (await httpStatus(fx)).pools.find((x) => x.name === 'site')!.healthy, 10_000, 'site healthy');
  t.is(fx.daemon.reconciler.pools.get('pub')!.errorCode, 'PUBLIC_REPO_REFUSED', 'pub did not opt in');
  t.is(online(emu, 'cd').length, 1);
});
