import test from 'ava';
import { JOB_LABELS, ours } from '../daemon/lifecycle-kit.js';
import { poolYaml, until } from '../helpers/daemon.js';
import { cli, configYaml, daemonDirs, healthz, json, spawnDaemon, write } from './kit.js';

/**
 * Contract §3/§4: SIGTERM *or SIGINT* stops as shutdown.mode says; drain deregisters idle runners
 * and lets busy ones finish "up to drainTimeout, then exit 0". Past the timeout the busy runner's
 * job is not cut short: the daemon exits 0 and the next start adopts the runner.
 */
test('SIGINT with shutdown.mode drain: the idle runner is deregistered, a job longer than drainTimeout keeps running, exit 0; the next start adopts its runner', async (t) => {
  t.timeout(4 * 60_000);
  const { emu, dir, dataDir, port } = await daemonDirs(t);
  const cfg = write(dir, 'config.yaml', configYaml({
    dataDir, apiUrl: emu.apiUrl, url: emu.url, listen: `127.0.0.1:${port}`,
    extra: 'reconcile: { interval: 1s }\nshutdown: { mode: drain, drainTimeout: 1s }',
    pool: poolYaml({ name: 'cd', size: 2 }),
  }));
  const d = spawnDaemon(t, cfg);
  const online = () => ours(emu.runners()).filter((r) => r.status === 'online');
  await until(async () => {
    if (d.child.exitCode !== null) throw new Error(`daemon exited ${d.child.exitCode}:\n${d.logs()}`);
    return (await healthz(port)) === 200 && online().length === 2;
  }, 60_000, 'two runners online');

  // A job far longer than drainTimeout (the assertions below run while it is still going).
  const jobId = emu.queueJob({ labels: JOB_LABELS, durationMs: 120_000 });
  await until(() => emu.job(jobId)?.status === 'in_progress', 30_000, 'job start');
  const busy = emu.job(jobId)!.runnerName!;
  const idle = online().map((r) => r.name).find((n) => n !== busy)!;

  d.child.kill('SIGINT');
  t.is(await d.exited, 0, d.logs().slice(-3000));
  t.is(emu.job(jobId)?.status, 'in_progress', 'the job was not cut short');
  const names = ours(emu.runners()).map((r) => r.name);
  t.false(names.includes(idle), 'the idle runner was deregistered');
  t.true(names.includes(busy), 'the busy runner keeps its registration');

  // The next daemon adopts the busy runner instead of starting a second one in its place.
  const again = spawnDaemon(t, cfg);
  await until(async () => {
    if (again.child.exitCode !== null) throw new Error(`daemon exited ${again.child.exitCode}:\n${again.logs()}`);
    if ((await healthz(port)) !== 200) return false;
    const s = json<{ pools: { name: string; runners: { name: string; busy: boolean }[] }[] }>(t, await cli(['status', '--json', '-c', cfg]));
    return s.pools[0]!.runners.some((r) => r.name === busy && r.busy);
  }, 60_000, 'busy runner adopted');
  t.is(emu.job(jobId)?.status, 'in_progress');
  again.child.kill('SIGKILL');
});
