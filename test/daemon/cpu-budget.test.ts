import fs from 'node:fs/promises';
import test from 'ava';
import Dockerode from 'dockerode';
import type { StatusReport } from '../../src/api/types.js';
import { loadConfig } from '../../src/config/load.js';
import { startEmulator } from '../emulator/index.js';
import { startTestDaemon, until } from '../helpers/daemon.js';
import { TEST_IMAGE, requireDocker } from '../helpers/engines.js';
import { cleanupDockerDaemon, hostContainers, onlineCount, uniqueHost } from './docker-kit.js';

const docker = new Dockerode();

test.serial('CPU budget: 3 runners of docker.cpus 0.5 in host.capacity.cpus 1 → two start, the pool says HOST_CAPACITY with the figure; a larger budget (reload) starts the third', async (t) => {
  if (!(await requireDocker(t))) return;
  t.timeout(3 * 60_000);
  const host = uniqueHost('cpu');
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const track = cleanupDockerDaemon(t, docker, host);
  const pool = `  - name: cd
    scope: { org: acme }
    labels: [cd-pipeline]
    backend: docker
    size: 3
    ephemeral: true
    env: { RUNNER_ALLOW_RUNASROOT: "1" }
    docker: { image: ${TEST_IMAGE}, network: host, cpus: 0.5, pull: never }
`;
  const fx = track(await startTestDaemon(t, emu, pool, { host, capacity: { minFreeDisk: 0, minFreeMemory: 0, cpus: 1 } }));
  const base = `http://127.0.0.1:${fx.daemon.apiPort}`;
  const status = async () => ((await (await fetch(`${base}/api/v1/status`)).json()) as StatusReport).pools[0]!;
  await until(() => onlineCount(host, emu.runners()) === 2, 90_000, 'two runners online');
  const st = await until(async () => ((await status()).errorCode === 'HOST_CAPACITY' ? status() : undefined), 30_000, 'HOST_CAPACITY in status');
  t.regex(st.error ?? '', /\b1 of host\.capacity\.cpus 1\b/);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  t.regex(metrics, /^runner_fleet_pool_capacity_blocked\{pool="cd"\} 1$/m);
  t.regex(metrics, /^runner_fleet_host_cpu_budget 1$/m);
  t.regex(metrics, /^runner_fleet_host_cpus_allocated 1$/m);
  // Several passes later: still two containers, both left alone.
  const before = (await hostContainers(docker, host, true)).map((c) => c.Id).sort();
  await new Promise((r) => setTimeout(r, 3000));
  t.deepEqual((await hostContainers(docker, host, true)).map((c) => c.Id).sort(), before);
  t.is(before.length, 2);

  // The budget grows: the third starts and the pool is no longer held.
  await fs.writeFile(fx.configPath, (await fs.readFile(fx.configPath, 'utf8')).replace('cpus: 1 }', 'cpus: 2 }'));
  const outcome = await fx.daemon.reload(await loadConfig(fx.configPath, {}));
  t.is(outcome.result, 'applied', JSON.stringify(outcome));
  await until(() => onlineCount(host, emu.runners()) === 3, 90_000, 'the third runner online');
  await until(async () => (await status()).errorCode === undefined, 30_000, 'HOST_CAPACITY cleared');
  t.regex(await (await fetch(`${base}/metrics`)).text(), /^runner_fleet_host_cpus_allocated 1\.5$/m);
});
