import test from 'ava';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { startEmulator } from '../emulator/index.js';
import { poolYaml, startTestDaemon, until } from '../helpers/daemon.js';
import { JOB_LABELS, alive, liveRows, online, ours, pidRecords, requestCount, stopAndKillRunners } from './lifecycle-kit.js';

const CASES = [
  { ephemeral: true, loseDb: false },
  { ephemeral: false, loseDb: false },
  // Only the pid files say what runs: adoption must not depend on the state DB rows.
  { ephemeral: true, loseDb: true },
];

for (const { ephemeral, loseDb } of CASES) {
  const what = `${ephemeral ? 'ephemeral' : 'persistent'} runners${loseDb ? ' (state DB lost)' : ''}`;
  test(`restart with shutdown.mode keep adopts the running ${what}; a drain stop then removes them`, async (t) => {
    const emu = await startEmulator();
    t.teardown(() => emu.close());
    const pools = poolYaml({ name: 'cd', size: 2, ephemeral });
    const a = await startTestDaemon(t, emu, pools);
    t.teardown(() => stopAndKillRunners(a));
    await until(() => online(emu).length === 2, 30_000, 'two runners online under daemon A');
    const names = online(emu).map((r) => r.name).sort();
    const ids = online(emu).map((r) => r.id).sort();
    const dataDir = a.config.host.dataDir;
    const pids = (await pidRecords(dataDir)).filter((r) => names.includes(r.name)).map((r) => r.pid);
    t.is(pids.length, 2);

    await a.stop('keep');
    t.true(pids.every(alive), 'keep leaves the runner processes running');
    t.deepEqual(online(emu).map((r) => r.name).sort(), names, 'and their registrations online');
    emu.resetRequests();
    if (loseDb) for (const f of ['state.db', 'state.db-wal', 'state.db-shm']) await fs.rm(path.join(dataDir, f), { force: true });

    // Daemon B on the same data dir.
    const b = await startTestDaemon(t, emu, pools, { dir: a.dir });
    t.teardown(() => stopAndKillRunners(b));
    for (let i = 0; i < 3; i++) {
      await b.daemon.reconciler.trigger();
      await b.daemon.reconciler.settled();
    }
    t.deepEqual(liveRows(b, 'cd').map((r) => r.name).sort(), names, 'B tracks exactly the runners A left');
    t.is(requestCount(emu, '/generate-jitconfig'), 0, 'no new JIT registration');
    if (!loseDb) t.is(requestCount(emu, '/registration-token', { method: 'POST' }), 0, 'the cached registration token is still good');
    t.is(requestCount(emu, '/actions/runner-registration'), 0, 'no config.sh run');
    t.deepEqual(ours(emu.runners()).map((r) => r.id).sort(), ids, 'same registrations, no duplicates');
    t.true(online(emu).length === 2 && pids.every(alive));

    // The adopted runners still take jobs.
    const job = await emu.waitForJob(emu.queueJob({ labels: JOB_LABELS, durationMs: 100 }), 30_000);
    t.is(job.conclusion, 'success');
    t.true(names.includes(job.runnerName!));
    // An ephemeral runner leaves after its job and B replaces it; a persistent one stays.
    await until(() => online(emu).length === 2, 30_000, 'pool back at size');

    await b.stop('drain');
    t.is(ours(emu.runners()).length, 0, 'drain deregistered every runner of ours');
    t.is((await pidRecords(dataDir)).length, 0, 'no pid file left');
    t.false(pids.some(alive), 'the adopted processes were stopped');
  });
}
