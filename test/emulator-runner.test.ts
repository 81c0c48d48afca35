import test from 'ava';
import { access, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startEmulator } from './emulator/index.js';
import { runIn, runToEnd, unpackRunner } from './emulator/testkit.js';
import type { Emulator } from './emulator/types.js';

const ROOT_OK = { RUNNER_ALLOW_RUNASROOT: '1' };
const exists = (p: string) => access(p).then(() => true, () => false);

async function setup(t: { teardown(fn: () => unknown): void }, opts = {}): Promise<{ emu: Emulator; dir: string }> {
  const emu = await startEmulator(opts);
  t.teardown(() => emu.close());
  return { emu, dir: await unpackRunner(emu) };
}

function configure(
  emu: Emulator, dir: string, name: string, extra: string[] = [], env: Record<string, string> = ROOT_OK,
  token = emu.createToken('registration', 'org:acme').token,
) {
  return runToEnd(dir, 'config.sh', ['--url', `${emu.url}/acme`, '--token', token, '--name', name, '--unattended', ...extra], env);
}

async function jit(emu: Emulator, name: string, labels = ['self-hosted', 'linux', 'x64', 'cd']): Promise<string> {
  const res = await fetch(`${emu.apiUrl}/orgs/acme/actions/runners/generate-jitconfig`, {
    method: 'POST',
    headers: { authorization: 'token test-pat' },
    body: JSON.stringify({ name, labels, runner_group_id: 1 }),
  });
  return ((await res.json()) as { encoded_jit_config: string }).encoded_jit_config;
}

test('config.sh writes the runner files; an ephemeral runner takes one job, sees its env, and exits 0', async (t) => {
  const { emu, dir } = await setup(t);
  const cfg = await configure(emu, dir, 'eph-1', ['--labels', 'cd,docker', '--ephemeral']);
  t.is(cfg.code, 0, cfg.output);
  const raw = await readFile(path.join(dir, '.runner'), 'utf8');
  t.is(raw.charCodeAt(0), 0xfeff);
  const settings = JSON.parse(raw.slice(1));
  t.like(settings, { agentName: 'eph-1', poolName: 'Default', workFolder: '_work', ephemeral: true, gitHubUrl: `${emu.url}/acme` });
  t.is((await stat(path.join(dir, '.credentials_rsaparams'))).mode & 0o777, 0o600);
  t.deepEqual(emu.runners()[0]!.labels, ['self-hosted', 'Linux', 'X64', 'cd', 'docker']);

  await writeFile(path.join(dir, '.env'), 'FROM_DOTENV=yes\n');
  await writeFile(path.join(dir, '.path'), `/opt/tools/bin:${process.env.PATH}\n`);
  const run = runIn(dir, 'bin/Runner.Listener', ['run'], { HTTP_PROXY: 'http://proxy:3128' });
  await run.waitFor('Listening for Jobs');
  await emu.waitForRunners((rs) => rs[0]?.status === 'online');
  const id = emu.queueJob({ labels: ['self-hosted', 'CD'], script: 'echo "PATH=$PATH"; echo "PROXY=$HTTP_PROXY"; echo "DOT=$FROM_DOTENV"; pwd' });
  const job = await emu.waitForJob(id);
  t.is(job.conclusion, 'success');
  t.is(job.runnerName, 'eph-1');
  t.regex(job.output, /^PATH=\/opt\/tools\/bin:/m);
  t.regex(job.output, /^PROXY=http:\/\/proxy:3128$/m);
  t.regex(job.output, /^DOT=yes$/m);
  t.regex(job.output, new RegExp(`^${path.join(dir, '_work')}$`, 'm'));
  t.is(await run.exited, 0);
  t.deepEqual(emu.runners(), [], 'the server deregistered the ephemeral runner');
  t.false(await exists(path.join(dir, '.runner')), 'local config deleted');
  const logs = await Promise.all((await readdir(path.join(dir, '_diag'))).map((f) => readFile(path.join(dir, '_diag', f), 'utf8')));
  t.true(logs.some((l) => l.includes('Listening for Jobs')), 'the listener logs to _diag/Runner_*.log');
});

test('--jitconfig and ACTIONS_RUNNER_INPUT_JITCONFIG run without config.sh; the input variable never reaches the job', async (t) => {
  const { emu, dir } = await setup(t);
  const viaArg = runIn(dir, 'bin/Runner.Listener', ['run', '--jitconfig', await jit(emu, 'jit-a')]);
  await viaArg.waitFor('Listening for Jobs');
  const a = emu.queueJob({ labels: ['cd'], script: 'echo ran' });
  t.is((await emu.waitForJob(a)).runnerName, 'jit-a');
  t.is(await viaArg.exited, 0);

  const viaEnv = runIn(dir, 'run.sh', [], { ...ROOT_OK, ACTIONS_RUNNER_INPUT_JITCONFIG: await jit(emu, 'jit-b') });
  await viaEnv.waitFor('Listening for Jobs');
  const b = emu.queueJob({ labels: ['cd'], script: 'env | grep -c ACTIONS_RUNNER_INPUT || true' });
  const job = await emu.waitForJob(b);
  t.is(job.runnerName, 'jit-b');
  t.is(job.output.trim(), '0');
  t.is(await viaEnv.exited, 0);
});

test('exit 1: not configured, or an undecodable jitconfig', async (t) => {
  const { dir } = await setup(t);
  const notConfigured = await runToEnd(dir, 'bin/Runner.Listener', ['run']);
  t.is(notConfigured.code, 1);
  t.regex(notConfigured.output, /Not configured/);
  t.is((await runToEnd(dir, 'bin/Runner.Listener', ['run', '--jitconfig', 'bm90IGpzb24='])).code, 1);
  t.is((await runToEnd(dir, 'run.sh', [], ROOT_OK)).code, 0, 'run.sh maps 1 to 0');
});

test('a second listener on the same runner exits 5; SIGTERM stops the first with 0 and it goes offline', async (t) => {
  const { emu, dir } = await setup(t);
  t.is((await configure(emu, dir, 'persist-1')).code, 0);
  const first = runIn(dir, 'bin/Runner.Listener', ['run']);
  await first.waitFor('Listening for Jobs');
  const second = await runToEnd(dir, 'bin/Runner.Listener', ['run']);
  t.is(second.code, 5);
  await emu.waitForRunners((rs) => rs[0]?.status === 'online');
  first.child.kill('SIGTERM');
  t.is(await first.exited, 0);
  await emu.waitForRunners((rs) => rs[0]?.status === 'offline', 5000);
  t.is(emu.runners().length, 1, 'a persistent runner stays registered');
});

test('run.sh with RUNNER_MANUALLY_TRAP_SIG forwards SIGTERM to the listener and exits 0', async (t) => {
  const { emu, dir } = await setup(t);
  t.is((await configure(emu, dir, 'trap-1')).code, 0);
  const run = runIn(dir, 'run.sh', [], { ...ROOT_OK, RUNNER_MANUALLY_TRAP_SIG: '1' });
  await run.waitFor('Listening for Jobs');
  await emu.waitForRunners((rs) => rs[0]?.status === 'online');
  run.child.kill('SIGTERM');
  t.is(await run.exited, 0);
  await emu.waitForRunners((rs) => rs[0]?.status === 'offline', 5000);
});

test('duplicate name: refused without --replace (exit 1), replaced with it', async (t) => {
  const { emu, dir } = await setup(t);
  const other = await unpackRunner(emu);
  t.is((await configure(emu, dir, 'dup')).code, 0);
  const refused = await configure(emu, other, 'dup');
  t.is(refused.code, 1);
  t.regex(refused.output, /A runner exists with the same name dup/);
  const oldId = emu.runners()[0]!.id;
  t.is((await configure(emu, other, 'dup', ['--replace'])).code, 0);
  t.deepEqual(emu.runners().map((r) => r.name), ['dup']);
  t.not(emu.runners()[0]!.id, oldId);
  const groupless = await configure(emu, await unpackRunner(emu), 'g', ['--runnergroup', 'nope']);
  t.is(groupless.code, 1);
  t.regex(groupless.output, /Could not find any self-hosted runner group named "nope"/);
});

test('root without RUNNER_ALLOW_RUNASROOT: config.sh and run.sh refuse', async (t) => {
  const { emu, dir } = await setup(t);
  const cfg = await configure(emu, dir, 'root', [], {});
  const run = await runToEnd(dir, 'run.sh', [], {});
  if (process.getuid?.() === 0) {
    t.is(cfg.code, 1);
    t.regex(cfg.output, /Must not run with sudo/);
    t.regex(run.output, /Must not run with sudo/);
    t.deepEqual(emu.runners(), []);
  } else {
    t.is(cfg.code, 0);
  }
});

test('registration deleted while listening → 0; a listener started after that → 1', async (t) => {
  const { emu, dir } = await setup(t);
  t.is((await configure(emu, dir, 'gone')).code, 0);
  const run = runIn(dir, 'bin/Runner.Listener', ['run']);
  await run.waitFor('Listening for Jobs');
  t.is(emu.deleteRunner(emu.runners()[0]!.id), 'deleted');
  t.is(await run.exited, 0);
  t.regex(run.output(), /Runner OAuth token has been revoked/);
  t.is((await runToEnd(dir, 'bin/Runner.Listener', ['run'])).code, 1);
});

test('deprecated runner version: 7 with ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE, else 1; run.sh passes 7 through', async (t) => {
  const { emu, dir } = await setup(t);
  t.is((await configure(emu, dir, 'old')).code, 0);
  emu.deprecateRunnerVersion('2.330.0');
  t.is((await runToEnd(dir, 'bin/Runner.Listener', ['run'])).code, 1);
  t.is((await runToEnd(dir, 'bin/Runner.Listener', ['run'], { ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE: '1' })).code, 7);
  t.is((await runToEnd(dir, 'run.sh', [], { ...ROOT_OK, ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE: 'true' })).code, 7);
});

test('remove accepts a registration token; --local only deletes files; an expired token fails configure', async (t) => {
  const { emu, dir } = await setup(t);
  const env = { ...ROOT_OK, ACTIONS_RUNNER_INPUT_URL: `${emu.url}/acme`, ACTIONS_RUNNER_INPUT_TOKEN: emu.createToken('registration', 'org:acme', 60_000).token };
  t.is((await runToEnd(dir, 'config.sh', ['--name', 'rm-1', '--labels', 'only', '--no-default-labels'], env)).code, 0);
  t.deepEqual(emu.runners()[0]!.labels, ['only']);
  const reg = emu.createToken('registration', 'org:acme', 60_000).token;
  t.is((await runToEnd(dir, 'config.sh', ['remove', '--token', reg], ROOT_OK)).code, 0);
  t.deepEqual(emu.runners(), []);
  t.false(await exists(path.join(dir, '.runner')));
  t.is((await runToEnd(dir, 'config.sh', ['remove', '--token', reg], ROOT_OK)).code, 0, 'unconfigured: skip');

  // A token that expired before config.sh used it (expiry on the emulator's clock, not a race).
  const expired = emu.createToken('registration', 'org:acme', 1).token;
  await new Promise((r) => setTimeout(r, 20));
  t.is((await configure(emu, dir, 'rm-2', [], ROOT_OK, expired)).code, 1, 'an expired token fails configure');
  t.deepEqual(emu.runners(), []);
});

test('job hooks run around the job and a failing script fails it', async (t) => {
  const { emu, dir } = await setup(t);
  await writeFile(path.join(dir, 'started.sh'), 'echo "hook started $RUNNER_NAME"\n');
  await writeFile(path.join(dir, 'completed.sh'), 'echo "hook completed"\n');
  const hooks = { ACTIONS_RUNNER_HOOK_JOB_STARTED: path.join(dir, 'started.sh'), ACTIONS_RUNNER_HOOK_JOB_COMPLETED: path.join(dir, 'completed.sh') };
  const run = runIn(dir, 'bin/Runner.Listener', ['run', '--jitconfig', await jit(emu, 'hooks')], hooks);
  await run.waitFor('Listening for Jobs');
  const id = emu.queueJob({ labels: ['self-hosted'], script: 'echo body; false; echo unreachable' });
  const job = await emu.waitForJob(id);
  t.is(job.conclusion, 'failure');
  t.is(job.output, 'hook started hooks\nbody\nhook completed\n');
  t.is(await run.exited, 0);
});
