import { execFileSync } from 'node:child_process';
import test from 'ava';
import { startEmulator } from '../emulator/index.js';
import { poolYaml, startTestDaemon, until } from '../helpers/daemon.js';
import { attempts, httpStatus, online, requestCount, stopAndKillRunners } from './lifecycle-kit.js';
import { requireDocker } from '../helpers/engines.js';

/**
 * Contract §8: a pool that cannot run (here: an org GitHub does not know, then credentials
 * GitHub refuses) is reported in logs, status and metrics and retried with backoff; the other
 * pools run on and the daemon does not exit.
 */
test('a pool whose org GitHub does not know says GITHUB_NOT_FOUND in status and metrics, is retried with backoff, and the other pool runs on; revoked credentials are GITHUB_AUTH on every pool of the scope (the one at size too) and the daemon stays up', async (t) => {
  t.timeout(3 * 60_000);
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const fx = await startTestDaemon(t, emu, poolYaml({ name: 'cd', size: 1 }) + poolYaml({ name: 'ghost', scope: '{ org: nosuch }', size: 1 }));
  t.teardown(() => stopAndKillRunners(fx));

  await until(() => online(emu, 'cd').length === 1, 30_000, 'the good pool online');
  await until(async () => (await httpStatus(fx)).pools.find((p) => p.name === 'ghost')?.errorCode === 'GITHUB_NOT_FOUND', 30_000, 'ghost reported');
  const ghost = (await httpStatus(fx)).pools.find((p) => p.name === 'ghost')!;
  t.false(ghost.healthy);
  t.is(ghost.actual, 0);
  t.regex(await fx.daemon.metrics.render(), /runner_fleet_pool_healthy\{pool="ghost"\} 0/);
  t.regex(await fx.daemon.metrics.render(), /runner_fleet_pool_healthy\{pool="cd"\} 1/);

  // Backoff: many reconcile passes, few GitHub calls for the failing scope, no runner attempted.
  const before = requestCount(emu, '/orgs/{org}/actions/runner-groups', { status: 404 });
  for (let i = 0; i < 10; i++) await fx.daemon.reconciler.trigger();
  await fx.daemon.reconciler.settled();
  const after = requestCount(emu, '/orgs/{org}/actions/runner-groups', { status: 404 });
  t.true(after - before <= 1, `10 passes asked GitHub ${after - before} times for the failing scope`);
  t.is(attempts(fx, 'ghost'), 0, 'no runner was attempted for the failing pool');
  t.is(online(emu, 'cd').length, 1);

  // Credentials GitHub refuses from now on: reported, and the daemon keeps answering.
  emu.revokePat('test-pat');
  await until(async () => (await httpStatus(fx)).pools.find((p) => p.name === 'ghost')?.errorCode === 'GITHUB_AUTH', 60_000, 'ghost says GITHUB_AUTH');
  t.is((await fetch(`http://127.0.0.1:${fx.daemon.apiPort}/healthz`)).status, 200);
  t.is(online(emu, 'cd').length, 1, 'the running runner is left alone');
  // The pool at size needs GitHub only now and then (runner lists), but it could not replace or
  // deregister a runner either: it says so too, and its health gauge drops.
  await until(async () => (await httpStatus(fx)).pools.find((p) => p.name === 'cd')?.errorCode === 'GITHUB_AUTH', 30_000, 'cd says GITHUB_AUTH');
  t.false((await httpStatus(fx)).pools.find((p) => p.name === 'cd')!.healthy);
  await until(async () => /runner_fleet_pool_healthy\{pool="cd"\} 0/.test(await fx.daemon.metrics.render()), 10_000, 'cd unhealthy in metrics');
  t.is(online(emu, 'cd').length, 1, 'and its runner still runs');
});

test('a docker pool whose image is missing (pull: never) says IMAGE_MISSING in status and metrics, starts no container, and the process pool runs on', async (t) => {
  if (!(await requireDocker(t))) return;
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const noimg = `  - name: noimg
    scope: { org: acme }
    backend: docker
    size: 1
    docker: { image: "runner-fleet-test/absent-audit:none", pull: never }
`;
  const fx = await startTestDaemon(t, emu, poolYaml({ name: 'cd', size: 1 }) + noimg);
  t.teardown(() => stopAndKillRunners(fx));
  await until(() => online(emu, 'cd').length === 1, 30_000, 'the process pool online');
  await until(async () => (await httpStatus(fx)).pools.find((p) => p.name === 'noimg')?.errorCode === 'IMAGE_MISSING', 30_000, 'noimg reported');
  const p = (await httpStatus(fx)).pools.find((x) => x.name === 'noimg')!;
  t.false(p.healthy);
  t.is(p.actual, 0);
  t.is(online(emu, 'noimg').length, 0);
  const containers = execFileSync('docker', ['ps', '-aq', '--filter', 'label=io.runner-fleet.pool=noimg', '--filter', `label=io.runner-fleet.host=${fx.config.host.name}`], { encoding: 'utf8' });
  t.is(containers.trim(), '', 'no container for the pool');
  // The gauge is set at the start of each pass: it follows the status within one interval.
  await until(async () => /runner_fleet_pool_healthy\{pool="noimg"\} 0/.test(await fx.daemon.metrics.render()), 10_000, 'noimg unhealthy in metrics');
  t.is(online(emu, 'cd').length, 1);
});
