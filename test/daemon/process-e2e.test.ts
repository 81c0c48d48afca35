import test from 'ava';
import { startEmulator } from '../emulator/index.js';
import { startTestDaemon, until } from '../helpers/daemon.js';

const POOL = `  - name: cd
    scope: { org: acme }
    labels: [cd-pipeline]
    backend: process
    size: 2
    ephemeral: true
    env: { RUNNER_ALLOW_RUNASROOT: "1", DEPLOY_ENV: staging }
`;

test('process pool: comes online, runs a job in a clean env, replaces the ephemeral runner, drains on stop', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  process.env.RF_CANARY_SECRET = 'daemon-env-must-not-leak';
  const foreignBig = emu.addForeignRunner('org:acme', 'h1-cd-big-abcdef12', { status: 'offline' });
  const foreignOther = emu.addForeignRunner('org:acme', 'someone-else', { status: 'offline' });
  const ghost = emu.addForeignRunner('org:acme', 'h1-cd-zz99zz99', { status: 'offline' });
  const fx = await startTestDaemon(t, emu, POOL);
  t.teardown(() => fx.stop('keep'));

  const ours = (rs: ReturnType<typeof emu.runners>) => rs.filter((r) => /^h1-cd-[a-z0-9]{8}$/.test(r.name) && r.id !== ghost.id);
  await emu.waitForRunners((rs) => ours(rs).filter((r) => r.status === 'online').length === 2, 30_000);
  const first = ours(emu.runners()).map((r) => r.name);
  t.true(ours(emu.runners()).every((r) => r.labels.map((l) => l.toLowerCase()).includes('cd-pipeline')));

  const jobId = emu.queueJob({ labels: ['self-hosted', 'linux', 'cd-pipeline'], script: 'echo "deploy=$DEPLOY_ENV"; env' });
  const job = await emu.waitForJob(jobId, 30_000);
  t.is(job.conclusion, 'success');
  t.regex(job.output, /deploy=staging/);
  t.notRegex(job.output, /daemon-env-must-not-leak/);
  t.notRegex(job.output, /ACTIONS_RUNNER_INPUT_JITCONFIG/);

  // The ephemeral runner that took the job is gone and replaced: still two, one new.
  await emu.waitForRunners((rs) => {
    const mine = ours(rs);
    return mine.length === 2 && mine.some((r) => !first.includes(r.name)) && mine.every((r) => r.status === 'online');
  }, 30_000);

  // Ghost removed; foreign runners (other pool prefix, other name) untouched.
  await until(() => !emu.runners().some((r) => r.id === ghost.id), 15_000, 'ghost removal');
  t.true(emu.runners().some((r) => r.id === foreignBig.id));
  t.true(emu.runners().some((r) => r.id === foreignOther.id));

  await fx.stop('drain');
  t.is(ours(emu.runners()).length, 0);
  t.true(emu.runners().some((r) => r.id === foreignBig.id));
});
