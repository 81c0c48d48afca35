import test from 'ava';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { startEmulator } from '../emulator/index.js';
import { emulatorConfigYaml, poolYaml, startTestDaemon, until } from '../helpers/daemon.js';
import { alive, online, ours, pidRecords, stopAndKillRunners } from './lifecycle-kit.js';

const OPS = ['self-hosted', 'linux', 'ops'];
const cd = poolYaml({ name: 'cd', size: 1 });
const ops = (o: { ephemeral?: boolean } = {}) => poolYaml({ name: 'ops', size: 1, labels: ['ops'], ...o });

async function reload(fx: Awaited<ReturnType<typeof startTestDaemon>>, emu: Parameters<typeof emulatorConfigYaml>[0], pools: string) {
  await fs.writeFile(fx.configPath, emulatorConfigYaml(emu, fx.config.host.dataDir, pools));
  return fx.daemon.reload(await loadConfig(fx.configPath, {}));
}

test('a pool removed by SIGHUP drains: a job landing before the deregistration (422) finishes, nothing leaks', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const fx = await startTestDaemon(t, emu, cd + ops(), { daemon: { githubListIntervalMs: 3_600_000 } });
  t.teardown(() => stopAndKillRunners(fx));
  await until(() => online(emu, 'ops').length === 1 && online(emu, 'cd').length === 1, 30_000, 'both pools online');
  const [runner] = fx.daemon.store.runners.list({ pool: 'ops' });

  // The pool goes; its runner's DELETE reaches GitHub only after a job landed on it.
  emu.faults.delay(1500);
  t.is((await reload(fx, emu, cd)).result, 'applied');
  await until(() => fx.daemon.store.runners.get(runner!.name)?.state === 'pending_delete', 10_000, 'stop decided');
  const jobId = emu.queueJob({ labels: OPS, durationMs: 2500 });
  await until(() => emu.job(jobId)?.status === 'in_progress', 10_000, 'job start');
  emu.faults.clear();

  const job = await emu.waitForJob(jobId, 30_000);
  t.is(job.conclusion, 'success', 'the job on the removed pool\'s runner was not killed');
  t.is(job.runnerName, runner!.name);
  t.true(emu.requests().some((r) => r.method === 'DELETE' && r.status === 422), 'deregistered first: GitHub said busy');
  await until(() => fx.daemon.store.runners.get(runner!.name)?.state === 'gone', 20_000, 'runner gone after its job');
  t.is(ours(emu.runners(), 'ops').length, 0, 'no registration of the removed pool left');
  t.is(online(emu, 'cd').length, 1, 'the other pool is untouched');
});

test('an idle persistent runner of a removed pool is deregistered before it is stopped', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const fx = await startTestDaemon(t, emu, cd + ops({ ephemeral: false }));
  t.teardown(() => stopAndKillRunners(fx));
  await until(() => online(emu, 'ops').length === 1, 30_000, 'ops online');
  const [runner] = fx.daemon.store.runners.list({ pool: 'ops' });
  const deletes = () => emu.requests().filter((r) => r.method === 'DELETE' && r.route.includes('/actions/runners/')).reduce((n, r) => n + r.count, 0);
  const before = deletes();
  await reload(fx, emu, cd);
  await until(() => fx.daemon.store.runners.get(runner!.name)?.state === 'gone', 20_000, 'retired');
  t.true(deletes() > before, 'a DELETE for the runner');
  t.is(ours(emu.runners(), 'ops').length, 0, 'registration removed');
});

test('a busy leftover of a removed pool (state DB lost) is stopped only after its job', async (t) => {
  t.timeout(2 * 60_000);
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const a = await startTestDaemon(t, emu, cd + ops());
  t.teardown(() => stopAndKillRunners(a));
  await until(() => online(emu, 'ops').length === 1, 30_000, 'ops online');
  const jobId = emu.queueJob({ labels: OPS, durationMs: 5000 });
  await until(() => emu.job(jobId)?.status === 'in_progress', 10_000, 'job start');
  const runner = emu.job(jobId)!.runnerName!;
  await until(() => a.daemon.store.runners.get(runner)?.state === 'busy', 10_000, 'busy by hook');
  await a.stop('keep');
  const dataDir = a.config.host.dataDir;
  for (const f of ['state.db', 'state.db-wal', 'state.db-shm']) await fs.rm(path.join(dataDir, f), { force: true });
  const pid = (await pidRecords(dataDir)).find((r) => r.name === runner)!.pid;

  const b = await startTestDaemon(t, emu, cd, { dir: a.dir });
  t.teardown(() => stopAndKillRunners(b));
  for (let i = 0; i < 3; i++) {
    await b.daemon.reconciler.trigger();
    await b.daemon.reconciler.settled();
  }
  t.true(alive(pid), 'the busy leftover was not stopped');
  const job = await emu.waitForJob(jobId, 30_000);
  t.is(job.conclusion, 'success');
  await until(async () => !(await pidRecords(dataDir)).some((r) => r.name === runner), 20_000, 'leftover removed after its job');
});
