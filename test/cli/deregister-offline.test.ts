/**
 * deregister --all with the daemon stopped (docs/contract.md §2: "directly from the state database
 * and GitHub when it does not"): a host being decommissioned after `systemctl stop` with
 * shutdown.mode: keep. Idle runners are deregistered and stopped, a busy one finishes its job
 * first (never killed), foreign registrations are untouched.
 */
import test from 'ava';
import { alive, pidRecords } from '../daemon/lifecycle-kit.js';
import { poolYaml, until } from '../helpers/daemon.js';
import { cli, configYaml, daemonDirs, json, spawnDaemon, write } from './kit.js';

test('deregister --all with the daemon stopped: idle runners go now, the busy one after its job, foreign ones stay', async (t) => {
  t.timeout(4 * 60_000);
  const { emu, dir, dataDir, port } = await daemonDirs(t);
  const cfg = write(dir, 'config.yaml', configYaml({
    dataDir, apiUrl: emu.apiUrl, url: emu.url, listen: `127.0.0.1:${port}`,
    extra: 'reconcile: { interval: 1s }\nshutdown: { mode: keep, drainTimeout: 30s }',
    pool: poolYaml({ name: 'cd', size: 2, ephemeral: false }),
  }));
  const foreign = [emu.addForeignRunner('org:acme', 'someone-else'), emu.addForeignRunner('org:acme', 'h1-cd-notours')];
  const ours = () => emu.runners().filter((r) => /^h1-cd-[a-z0-9]{8}$/.test(r.name));

  const d = spawnDaemon(t, cfg);
  await until(() => ours().filter((r) => r.status === 'online').length === 2, 60_000, `two runners online\n${d.logs()}`);
  // Long enough to outlast the daemon's stop and the first call on a loaded CI machine.
  const job = emu.queueJob({ labels: ['self-hosted', 'cd-pipeline'], script: 'sleep 20' });
  const busy = await until(() => emu.job(job)?.runnerName, 30_000, 'the job assigned');
  d.child.kill('SIGTERM');
  t.is(await d.exited, 0, d.logs());
  const records = await pidRecords(dataDir);
  t.is(records.filter((r) => alive(r.pid)).length, 2, 'shutdown.mode keep: both runners still run');

  // The offline call with a short timeout: the idle runner goes, the busy one is left running.
  const first = await cli(['deregister', '--all', '--json', '--timeout', '2s', '-c', cfg]);
  t.is(first.code, 1, first.stderr);
  const out1 = json<{ ok: boolean; removed: { name: string }[]; remaining: string[] }>(t, first);
  t.false(out1.ok);
  t.deepEqual(out1.remaining, [busy]);
  t.deepEqual(out1.removed.map((r) => r.name), records.map((r) => r.name).filter((n) => n !== busy));
  t.deepEqual(ours().map((r) => r.name), [busy], 'only the busy runner is still registered');
  t.true(alive(records.find((r) => r.name === busy)!.pid), 'the busy runner was not killed');
  t.false(alive(records.find((r) => r.name !== busy)!.pid), 'the idle runner was stopped');

  // Once the job has finished (success), its runner goes too. Waited for here: a call started
  // mid-job sees the end in the job hook, but the GitHub runner list it read at its start still
  // says busy, and that list is read again only every 2 min.
  t.is((await emu.waitForJob(job, 60_000)).conclusion, 'success');
  const second = await cli(['deregister', '--all', '--timeout', '1m', '-c', cfg]);
  t.is(second.code, 0, second.stderr);
  t.regex(second.stdout, new RegExp(`deregistered 1 runner: ${busy}`));
  t.is(emu.job(job)?.conclusion, 'success');
  t.deepEqual(ours(), []);
  t.false(records.some((r) => alive(r.pid)));
  t.is(emu.runners().filter((r) => foreign.some((f) => f.id === r.id)).length, 2, 'foreign registrations untouched');

  // Nothing left: a third call is a quiet no-op.
  const third = await cli(['deregister', '--all', '-c', cfg]);
  t.is(third.code, 0, third.stderr);
  t.regex(third.stdout, /deregistered 0 runners/);
});
