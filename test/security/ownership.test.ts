/**
 * Hostile-job suite, ownership (issue 10 item 5, CONTRACT §5/§6): nothing a job wrote is trusted
 * to say which registration, file or directory is its runner's. A rewritten `.runner` never
 * makes the daemon delete a sibling's or a foreign registration; a link out of the runner root
 * never makes it delete (or chown) anything outside the root. Process backend, real runners.
 */
import test from 'ava';
import BetterSqlite3 from 'better-sqlite3';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmulator } from '../emulator/index.js';
import { poolYaml, startTestDaemon, until } from '../helpers/daemon.js';
import { JOB_LABELS, liveRows, online, pidRecords, stopAndKillRunners } from '../daemon/lifecycle-kit.js';
import { rewriteAgentId } from './kit.js';

test("a job that rewrites .runner's agentId to a sibling's id: retiring its runner deletes its own registration, never the sibling's", async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const pools = poolYaml({ name: 'cd', ephemeral: false }) + poolYaml({ name: 'ci', ephemeral: false, labels: ['ci-only'] });
  const fx = await startTestDaemon(t, emu, pools);
  t.teardown(() => stopAndKillRunners(fx));
  const [victim] = await until(() => (online(emu, 'ci').length === 1 ? online(emu, 'ci') : null), 30_000, 'sibling online');
  const [mine] = await until(() => (online(emu, 'cd').length === 1 ? online(emu, 'cd') : null), 30_000, 'runner online');

  const job = await emu.waitForJob(emu.queueJob({ labels: JOB_LABELS, script: rewriteAgentId(victim!.id) }), 30_000);
  t.is(job.runnerName, mine!.name);
  t.regex(job.output, new RegExp(`"agentId": ${victim!.id}`));

  fx.daemon.reconciler.drain('cd');
  await until(() => liveRows(fx, 'cd').length === 0, 30_000, 'cd drained');
  await until(() => !emu.runners().some((r) => r.id === mine!.id), 15_000, "the job's own registration deleted");
  t.true(emu.runners().some((r) => r.id === victim!.id && r.status === 'online'), 'the sibling is still registered');
  t.is(online(emu, 'ci').length, 1);
});

test(".runner pointing at a foreign registration: a killed runner's cleanup never deletes it", async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const foreign = emu.addForeignRunner('org:acme', 'someone-else', { status: 'online' });
  const otherHost = emu.addForeignRunner('org:acme', 'h2-cd-abcdef12', { status: 'online' });
  const fx = await startTestDaemon(t, emu, poolYaml({ name: 'cd', ephemeral: false }));
  t.teardown(() => stopAndKillRunners(fx));
  const [mine] = await until(() => (online(emu).length === 1 ? online(emu) : null), 30_000, 'runner online');

  for (const target of [foreign, otherHost]) {
    const [cur] = await until(() => (online(emu).length === 1 ? online(emu) : null), 30_000, 'runner online');
    const job = await emu.waitForJob(emu.queueJob({ labels: JOB_LABELS, script: rewriteAgentId(target.id) }), 30_000);
    t.regex(job.output, new RegExp(`"agentId": ${target.id}`));
    // The runner dies (exit unknown): its cleanup deregisters it by id, the one its `.runner` names.
    const rec = (await pidRecords(fx.config.host.dataDir)).find((r) => r.name === cur!.name)!;
    process.kill(-rec.pid, 'SIGKILL');
    await until(() => online(emu).length === 1 && online(emu)[0]!.name !== cur!.name, 30_000, 'replacement runner');
  }
  t.true(emu.runners().some((r) => r.id === foreign.id), 'a registration named otherwise survives');
  t.true(emu.runners().some((r) => r.id === otherHost.id), "another host's registration survives");
  t.truthy(mine);
});

test('a job linking _work and .rf out of its root: removing the runner deletes nothing outside it', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const outside = await fs.mkdtemp(path.join(os.tmpdir(), 'rf-sec-outside-'));
  t.teardown(() => fs.rm(outside, { recursive: true, force: true }));
  // Names the daemon deletes or writes inside a runner root, as bait.
  const bait = ['job', 'process-exit', 'start.sh', '.env', '.runner', 'keep.txt'];
  for (const f of bait) await fs.writeFile(path.join(outside, f), 'precious\n');
  await fs.mkdir(path.join(outside, 'hooks'));
  await fs.writeFile(path.join(outside, 'hooks', 'job-started.sh'), 'precious\n');
  const before = await snapshot(outside);

  const fx = await startTestDaemon(t, emu, poolYaml({ name: 'cd' }));
  t.teardown(() => stopAndKillRunners(fx));
  const [first] = await until(() => (online(emu).length === 1 ? online(emu) : null), 30_000, 'runner online');
  const script = [
    `ln -s ${outside} ./escape`, // in _work
    `ln -s ${outside} ../_diag/escape`,
    `ln -s ${outside}/keep.txt ../keep-link`,
    // The completed hook runs from .rf/hooks: move .rf aside first, so the job ends cleanly.
    `mv ../.rf ../.rf-moved && ln -s ${outside} ../.rf`,
  ].join('\n');
  await emu.waitForJob(emu.queueJob({ labels: JOB_LABELS, script }), 30_000);
  const root = path.join(fx.config.host.dataDir, 'runners', first!.name);
  await until(() => online(emu).length === 1 && online(emu)[0]!.name !== first!.name, 30_000, 'replacement runner');
  await until(async () => !(await fs.lstat(root).then(() => true, () => false)), 15_000, 'runner root removed');
  t.deepEqual(await snapshot(outside), before, 'everything outside the root is as it was');
});

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of (await fs.readdir(dir, { recursive: true })) as string[]) {
    const p = path.join(dir, e);
    const st = await fs.lstat(p);
    out[e] = st.isFile() ? `${st.uid}:${st.gid}:${(st.mode & 0o7777).toString(8)}:${await fs.readFile(p, 'utf8')}` : `dir:${st.uid}:${st.gid}:${(st.mode & 0o7777).toString(8)}`;
  }
  return out;
}

test("a sibling's id an older version stored from .runner: after the upgrade, retiring the runner deletes its own registration, never the sibling's", async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const pools = poolYaml({ name: 'cd', ephemeral: false }) + poolYaml({ name: 'ci', ephemeral: false, labels: ['ci-only'] });
  const fx = await startTestDaemon(t, emu, pools);
  t.teardown(() => stopAndKillRunners(fx));
  const [victim] = await until(() => (online(emu, 'ci').length === 1 ? online(emu, 'ci') : null), 30_000, 'sibling online');
  const [mine] = await until(() => (online(emu, 'cd').length === 1 ? online(emu, 'cd') : null), 30_000, 'runner online');
  await fx.stop('keep');
  // What an older daemon left behind: the row's id is the sibling's (read from a rewritten .runner), schema v4.
  const db = new BetterSqlite3(path.join(fx.config.host.dataDir, 'state.db'));
  db.prepare('UPDATE runners SET github_id = ? WHERE name = ?').run(victim!.id, mine!.name);
  db.pragma('user_version = 4');
  db.close();

  const fx2 = await startTestDaemon(t, emu, pools, { dir: fx.dir });
  t.teardown(() => stopAndKillRunners(fx2));
  fx2.daemon.reconciler.drain('cd');
  await until(() => liveRows(fx2, 'cd').length === 0, 30_000, 'cd drained');
  await until(() => !emu.runners().some((r) => r.id === mine!.id), 15_000, "the runner's own registration deleted");
  t.true(emu.runners().some((r) => r.id === victim!.id), 'the sibling is still registered');
});
