import fs from 'node:fs/promises';
import test from 'ava';
import Dockerode from 'dockerode';
import { createDockerBackend, LABEL_RUNNER } from '../../src/backends/docker/index.js';
import { startEmulator } from '../emulator/index.js';
import { startTestDaemon, until, type DaemonFixture } from '../helpers/daemon.js';
import { startPrivateDockerd } from '../helpers/dockerd.js';
import { TEST_IMAGE, requireDocker } from '../helpers/engines.js';
import { capturedLogger, dockerPoolYaml, hostContainers, onlineCount, ours, uniqueHost } from './docker-kit.js';

async function healthz(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
  await res?.body?.cancel();
  return res?.status ?? 0;
}

test('docker engine restart: the daemon rides it out and the pool returns to size', async (t) => {
  if (!(await requireDocker(t))) return;
  t.timeout(4 * 60_000);
  const host = uniqueHost('dr');
  const engine = await startPrivateDockerd(t);
  await engine.loadFrom(new Dockerode(), TEST_IMAGE);
  const emu = await startEmulator();
  t.teardown(() => emu.close());

  const log = capturedLogger();
  const docker = createDockerBackend({ host, logger: log.logger, docker: engine.docker, watchBackoffMs: { min: 100, max: 1000 } });
  let fx: DaemonFixture | undefined;
  // Registered after the engine's own teardown, so it runs first (ava: last in, first out).
  t.teardown(async () => {
    await fx?.stop('keep');
    if (fx) await fs.rm(fx.dir, { recursive: true, force: true });
  });
  fx = await startTestDaemon(t, emu, dockerPoolYaml(), { host, logger: log.logger, daemon: { backends: { docker } } });
  const t0 = Date.now();
  await emu.waitForRunners((rs) => onlineCount(host, rs) === 2, 60_000);
  const first = ours(host, emu.runners()).map((r) => r.name);
  t.is((await hostContainers(engine.docker, host, true)).length, 2);
  t.log(`online after ${Date.now() - t0} ms`);

  // Engine down: its containers die with it; the daemon keeps serving and reconciling.
  await engine.stop();
  const down = Date.now();
  await until(() => log.lines.some((l) => l.includes('backend unavailable')), 15_000, 'the outage noticed');
  for (let i = 0; i < 4; i++) {
    t.is(await healthz(fx.daemon.apiPort), 200, 'healthz while the engine is down');
    await new Promise((r) => setTimeout(r, 1000));
  }
  t.false(log.lines.some((l) => /"level":"fatal"/.test(l)));

  // Engine back: the dead runners are reaped (containers and registrations), new ones take their place.
  await engine.start();
  t.log(`engine down for ${Date.now() - down} ms`);
  const back = Date.now();
  await emu.waitForRunners((rs) => onlineCount(host, rs) === 2 && !ours(host, rs).some((r) => first.includes(r.name)), 90_000);
  await until(async () => {
    const all = await hostContainers(engine.docker, host);
    return all.length === 2 && all.every((c) => c.State === 'running' && !first.includes(c.Labels[LABEL_RUNNER]!));
  }, 30_000, 'two fresh running containers, the dead ones removed');
  // RF_DEBUG=1: the daemon's log of the outage, for diagnosis.
  if (process.env.RF_DEBUG) t.log(log.lines.filter((l) => !/"level":"debug"/.test(l)).join('\n'));
  t.log(`pool back to size ${Date.now() - back} ms after the engine returned`);
  t.is(await healthz(fx.daemon.apiPort), 200);
  t.true(log.lines.some((l) => l.includes('docker events stream reconnected')), 'events stream reconnected');

  // Still working: a job runs on a new runner.
  const job = await emu.waitForJob(emu.queueJob({ labels: ['self-hosted', 'cd-pipeline'], script: 'echo after-restart' }), 60_000);
  t.is(job.conclusion, 'success');
  t.false(first.includes(job.runnerName!));
});
