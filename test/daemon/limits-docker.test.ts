import test from 'ava';
import Dockerode from 'dockerode';
import type { StatusReport } from '../../src/api/types.js';
import { createDockerBackend } from '../../src/backends/docker/index.js';
import type { Backend } from '../../src/backends/types.js';
import { silentLogger } from '../../src/log.js';
import { startEmulator } from '../emulator/index.js';
import { startTestDaemon, until } from '../helpers/daemon.js';
import { TEST_IMAGE, requireDocker } from '../helpers/engines.js';
import { cleanupDockerDaemon, hostContainers, onlineCount, ours, uniqueHost } from './docker-kit.js';

const docker = new Dockerode();
const MiB = 1024 * 1024;

// `tail` keeps a stream without newlines in memory: 1 GiB of zeros is far past the limit.
const HOG = 'head -c 1073741824 /dev/zero | tail > /dev/null';

test.serial('docker limits: visible in docker inspect; a job past limits.memory → exit classified oom and the runner replaced', async (t) => {
  if (!(await requireDocker(t))) return;
  t.timeout(3 * 60_000);
  const host = uniqueHost('lim');
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const track = cleanupDockerDaemon(t, docker, host);
  const pool = `  - name: cd
    scope: { org: acme }
    labels: [cd-pipeline]
    backend: docker
    size: 1
    ephemeral: true
    env: { RUNNER_ALLOW_RUNASROOT: "1" }
    limits: { cpus: 0.5, memory: 192m, pids: 256 }
    docker: { image: ${TEST_IMAGE}, network: host, memory: 1g, pull: never }
`;
  const fx = track(await startTestDaemon(t, emu, pool, { host }));
  await until(() => onlineCount(host, emu.runners()) === 1, 90_000, 'a runner online');
  const [c] = await hostContainers(docker, host, true);
  const info = await docker.getContainer(c!.Id).inspect();
  // limits win over docker.memory; swap capped at the memory limit.
  t.is(info.HostConfig.NanoCpus, 500_000_000);
  t.is(info.HostConfig.Memory, 192 * MiB);
  t.is(info.HostConfig.MemorySwap, 192 * MiB);
  t.is(info.HostConfig.PidsLimit, 256);
  const first = ours(host, emu.runners())[0]!.name;

  const job = await emu.waitForJob(emu.queueJob({ labels: ['self-hosted', 'linux', 'cd-pipeline'], script: HOG }), 90_000);
  t.not(job.conclusion, 'success', job.output);
  const base = `http://127.0.0.1:${fx.daemon.apiPort}`;
  const exit = await until(async () => {
    const s = (await (await fetch(`${base}/api/v1/status`)).json()) as StatusReport;
    return s.pools[0]?.lastExits?.find((e) => e.runner === first);
  }, 60_000, 'the exit in status');
  t.is(exit.cause, 'oom');
  await until(() => ours(host, emu.runners()).some((r) => r.name !== first && r.status === 'online'), 90_000, 'a replacement online');
  t.regex(await (await fetch(`${base}/metrics`)).text(), /^runner_fleet_runner_exits_total\{pool="cd",cause="oom"\} 1$/m);
});

/**
 * The race that made the test above flaky: the exit was handled before the engine's OOM report
 * (the `oom` event, State.OOMKilled) reached the daemon, and was classified job_done. Here the
 * engine's report never reaches the planner at all: the job hook's cgroup count decides.
 */
test.serial('docker: a job OOM-killed with no engine OOM report before the exit is handled → still classified oom', async (t) => {
  if (!(await requireDocker(t))) return;
  t.timeout(3 * 60_000);
  const host = uniqueHost('lim');
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const track = cleanupDockerDaemon(t, docker, host);
  const real = createDockerBackend({ host, logger: silentLogger() });
  const late: Backend = {
    ...real,
    // What the engine says about OOM is dropped: as if its 'oom' event came after 'die'.
    list: async (signal) => (await real.list(signal)).map(({ oomKilled: _dropped, ...o }) => o),
  };
  const pool = `  - name: cd
    scope: { org: acme }
    labels: [cd-pipeline]
    backend: docker
    size: 1
    ephemeral: true
    env: { RUNNER_ALLOW_RUNASROOT: "1" }
    limits: { memory: 192m }
    docker: { image: ${TEST_IMAGE}, network: host, pull: never }
`;
  const fx = track(await startTestDaemon(t, emu, pool, { host, daemon: { backends: { docker: late } } }));
  await until(() => onlineCount(host, emu.runners()) === 1, 90_000, 'a runner online');
  const first = ours(host, emu.runners())[0]!.name;
  const job = await emu.waitForJob(emu.queueJob({ labels: ['self-hosted', 'linux', 'cd-pipeline'], script: HOG }), 90_000);
  t.not(job.conclusion, 'success', job.output);
  const base = `http://127.0.0.1:${fx.daemon.apiPort}`;
  const exit = await until(async () => {
    const s = (await (await fetch(`${base}/api/v1/status`)).json()) as StatusReport;
    return s.pools[0]?.lastExits?.find((e) => e.runner === first);
  }, 60_000, 'the exit in status');
  t.is(exit.cause, 'oom');
});
