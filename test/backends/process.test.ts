import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createProcessBackend } from '../../src/backends/process/index.js';
import { pidFilePath, type PidRecord } from '../../src/backends/process/pidfile.js';
import { readProc } from '../../src/backends/process/procfs.js';
import type { RunnerExit, RunnerSpec } from '../../src/backends/types.js';
import { silentLogger } from '../../src/log.js';
import { until } from '../helpers/poll.js';
import { backendContract } from './contract.js';
import { tempDir } from '../helpers/temp.js';

const HOST = 'build-01';

// One data dir for every host of the contract run: isolation must come from the pid files'
// host field, not from separate directories.
const CONTRACT_DATA = await fs.mkdtemp(path.join(os.tmpdir(), 'rf-proc-contract-'));
test.after.always(() => fs.rm(CONTRACT_DATA, { recursive: true, force: true }));

backendContract(
  test,
  'process',
  (host) => createProcessBackend({ host, dataDir: CONTRACT_DATA, logger: silentLogger(), pollMs: 100 }),
  (base) => base,
  {
    timeoutMs: 10_000,
    // Someone else's live process recorded under the runner's name by another host.
    foreign: async (runnerName, spec) => {
      const proc = spawn('/bin/sleep', ['300'], { stdio: 'ignore', detached: true });
      const info = await until(() => readProc(proc.pid!) ?? undefined);
      await fs.mkdir(path.join(CONTRACT_DATA, 'process'), { recursive: true });
      const rec: PidRecord = {
        name: runnerName, pool: spec.pool, host: 'someone-else', pid: proc.pid!, startTime: info.startTime, cmdline: info.cmdline,
        startedAt: Date.now(), root: spec.root, logFile: path.join(spec.root, 'x.log'), exitFile: path.join(spec.root, 'x.exit'),
      };
      const file = pidFilePath(CONTRACT_DATA, runnerName);
      await fs.writeFile(file, JSON.stringify(rec));
      return {
        exists: async () => alive(proc.pid!) && (await fs.readFile(file, 'utf8')).includes('someone-else'),
        remove: async () => {
          proc.kill('SIGKILL');
          await fs.rm(file, { force: true });
        },
      };
    },
  },
);

async function setup(t: ExecutionContext) {
  const dataDir = await tempDir(t, 'rf-proc-');
  const backend = createProcessBackend({ host: HOST, dataDir, logger: silentLogger(), pollMs: 50 });
  return { dataDir, backend };
}

async function spec(dataDir: string, name: string, script: string, extra: Partial<RunnerSpec> = {}): Promise<RunnerSpec> {
  const root = path.join(dataDir, 'runners', name);
  await fs.mkdir(root, { recursive: true });
  return {
    name,
    pool: 'cd',
    host: HOST,
    root,
    command: ['/bin/sh', '-c', script],
    env: { PATH: '/usr/bin:/bin' },
    secretEnv: {},
    mounts: [],
    ephemeral: true,
    network: { dns: [], extraHosts: {} },
    ...extra,
  };
}

function alive(pid: number): boolean {
  const p = readProc(pid);
  return !!p && p.state !== 'Z';
}

test('reports the real exit code through watch() and list()', async (t) => {
  const { dataDir, backend } = await setup(t);
  const exits: RunnerExit[] = [];
  const stop = backend.watch!((e) => exits.push(e));
  t.teardown(stop);
  await backend.create(await spec(dataDir, `${HOST}-cd-exit03`, 'echo hello; exit 3'));
  const e = await until(() => exits.find((x) => x.name === `${HOST}-cd-exit03`));
  t.is(e.exitCode, 3);
  const [seen] = await backend.list();
  t.is(seen?.state, 'exited');
  t.is(seen?.exitCode, 3);
  t.is(seen?.backend, 'process');
  t.regex(await backend.logs!(`${HOST}-cd-exit03`, { tail: 5 }), /hello/);
  await backend.destroy(`${HOST}-cd-exit03`, { graceMs: 100 });
  t.deepEqual(await backend.list(), []);
});

test('the runner sees only spec.env + secretEnv; secrets stay out of argv and the pid file', async (t) => {
  const { dataDir, backend } = await setup(t);
  process.env.RF_PROCESS_CANARY = 'daemon-secret';
  t.teardown(() => delete process.env.RF_PROCESS_CANARY);
  const s = await spec(dataDir, `${HOST}-cd-envenv`, 'env > env.out', {
    env: { PATH: '/usr/bin:/bin', POOL_VAR: 'visible' },
    secretEnv: { ACTIONS_RUNNER_INPUT_JITCONFIG: 'jit-secret-value' },
  });
  await backend.create(s);
  const [rec] = await until(async () => {
    const l = await backend.list();
    return l[0]?.state === 'exited' ? l : undefined;
  });
  t.is(rec?.exitCode, 0);
  const env = await fs.readFile(path.join(s.root, 'env.out'), 'utf8');
  t.false(env.includes('RF_PROCESS_CANARY'));
  t.true(env.includes('POOL_VAR=visible'));
  t.true(env.includes('ACTIONS_RUNNER_INPUT_JITCONFIG=jit-secret-value'));
  const file = pidFilePath(dataDir, s.name);
  t.false((await fs.readFile(file, 'utf8')).includes('jit-secret-value'));
  t.is((await fs.stat(file)).mode & 0o777, 0o600);
});

test('create is idempotent by name; destroy of an unknown runner is fine', async (t) => {
  const { dataDir, backend } = await setup(t);
  const s = await spec(dataDir, `${HOST}-cd-idemp1`, 'while :; do sleep 0.05; done');
  const a = await backend.create(s);
  const b = await backend.create(s);
  t.is(a.ref, b.ref);
  t.is((await backend.list()).length, 1);
  await backend.destroy(s.name, { graceMs: 1000 });
  t.false(alive(Number(a.ref)));
  await backend.destroy(s.name, { graceMs: 1000 });
  await backend.destroy('never-existed', { graceMs: 1000 });
  t.deepEqual(await backend.list(), []);
});

test('a new backend instance adopts a running process and reports its real exit code', async (t) => {
  const { dataDir, backend: first } = await setup(t);
  const s = await spec(dataDir, `${HOST}-cd-adopt1`, 'while [ ! -f stop ]; do sleep 0.05; done; exit 4');
  const ref = await first.create(s);
  await first.close!();
  // "daemon restart": a fresh instance over the same data dir
  const second = createProcessBackend({ host: HOST, dataDir, logger: silentLogger(), pollMs: 50 });
  const [seen] = await second.list();
  t.is(seen?.state, 'running');
  t.is(seen?.ref, ref.ref);
  t.is((await second.create(s)).ref, ref.ref, 'create adopts instead of starting a second one');
  const exits: RunnerExit[] = [];
  t.teardown(second.watch!((e) => exits.push(e)));
  await fs.writeFile(path.join(s.root, 'stop'), '');
  const e = await until(() => exits.find((x) => x.name === s.name));
  t.is(e.exitCode, 4);
  t.is(exits.length, 1);
  t.is((await second.list())[0]?.exitCode, 4);
  await second.destroy(s.name, { graceMs: 100 });
});

test('a pid file whose pid was recycled is neither adopted nor signalled', async (t) => {
  const { dataDir, backend } = await setup(t);
  const stranger = spawn('/bin/sleep', ['30'], { stdio: 'ignore', detached: true });
  t.teardown(() => stranger.kill('SIGKILL'));
  const pid = stranger.pid!;
  const info = await until(() => readProc(pid) ?? undefined);
  await fs.mkdir(path.join(dataDir, 'process'), { recursive: true });
  const base: PidRecord = {
    name: `${HOST}-cd-recyc1`, pool: 'cd', host: HOST, pid, startTime: String(Number(info.startTime) - 1),
    cmdline: info.cmdline, startedAt: 0, root: dataDir, logFile: path.join(dataDir, 'x.log'), exitFile: path.join(dataDir, 'x.exit'),
  };
  // wrong start time, right argv; then right start time, wrong argv
  await fs.writeFile(pidFilePath(dataDir, base.name), JSON.stringify(base));
  const other = { ...base, name: `${HOST}-cd-recyc2`, startTime: info.startTime, cmdline: ['/bin/sh', '-c', 'x'] };
  await fs.writeFile(pidFilePath(dataDir, other.name), JSON.stringify(other));
  const seen = await backend.list();
  t.deepEqual(seen.map((r) => [r.name, r.state]), [[base.name, 'exited'], [other.name, 'exited']]);
  await backend.destroy(base.name, { graceMs: 50 });
  await backend.destroy(other.name, { graceMs: 50 });
  await delay(100);
  t.true(alive(pid), 'the stranger process was not signalled');
  t.deepEqual(await backend.list(), []);
});

test('destroy escalates SIGINT → SIGTERM → SIGKILL on the process group', async (t) => {
  const { dataDir, backend } = await setup(t);
  const exits: RunnerExit[] = [];
  t.teardown(backend.watch!((e) => exits.push(e)));
  const script = "trap 'echo INT >> sig.log' INT; trap 'echo TERM >> sig.log' TERM; echo ready > ready; while :; do sleep 0.05; done";
  const s = await spec(dataDir, `${HOST}-cd-stubrn`, script);
  const ref = await backend.create(s);
  await until(() => fs.access(path.join(s.root, 'ready')).then(() => true, () => undefined));
  const started = Date.now();
  await backend.destroy(s.name, { graceMs: 600 });
  t.true(Date.now() - started >= 550, 'waited the grace period');
  t.false(alive(Number(ref.ref)));
  const sigs = (await fs.readFile(path.join(s.root, 'sig.log'), 'utf8')).trim().split('\n');
  t.deepEqual(sigs, ['INT', 'TERM']);
  const e = await until(() => exits.find((x) => x.name === s.name));
  t.is(e.exitCode, null);
  t.is(e.signal, 'SIGKILL');
  t.deepEqual(await backend.list(), []);
});

test('a runner that stops on SIGINT is not escalated and reports its own code', async (t) => {
  const { dataDir, backend } = await setup(t);
  const exits: RunnerExit[] = [];
  t.teardown(backend.watch!((e) => exits.push(e)));
  const s = await spec(dataDir, `${HOST}-cd-intok1`, "trap 'exit 0' INT; echo ready > ready; while :; do sleep 0.05; done");
  await backend.create(s);
  await until(() => fs.access(path.join(s.root, 'ready')).then(() => true, () => undefined));
  const started = Date.now();
  await backend.destroy(s.name, { graceMs: 20_000 });
  t.true(Date.now() - started < 5000);
  const e = await until(() => exits.find((x) => x.name === s.name));
  t.is(e.exitCode, 0);
});

test('create refuses a command that cannot run', async (t) => {
  const { dataDir, backend } = await setup(t);
  const s = await spec(dataDir, `${HOST}-cd-nocmd1`, '', { command: ['/nonexistent/Runner.Listener', 'run'] });
  const err = await t.throwsAsync(backend.create(s));
  t.is((err as { code?: string }).code, 'BACKEND_FAILED');
  t.deepEqual(await backend.list(), []);
});

test('as root, spec.user runs the runner under that uid/gid and still reports its exit code', async (t) => {
  const { dataDir, backend } = await setup(t);
  await fs.chmod(dataDir, 0o755);
  const exits: RunnerExit[] = [];
  t.teardown(backend.watch!((e) => exits.push(e)));
  const s = await spec(dataDir, `${HOST}-cd-usernb`, 'id -u > uid.out; id -G > groups.out; exit 5', { user: 'nobody' });
  await fs.chmod(path.dirname(s.root), 0o755);
  const isRoot = process.getuid?.() === 0;
  const ids = isRoot ? (await import('../../src/backends/process/user.js')).resolveUser('nobody') : undefined;
  if (ids) await fs.chown(s.root, ids.uid, ids.gid);
  await backend.create(s);
  const e = await until(() => exits.find((x) => x.name === s.name));
  t.is(e.exitCode, 5);
  const uid = (await fs.readFile(path.join(s.root, 'uid.out'), 'utf8')).trim();
  t.is(uid, String(ids ? ids.uid : process.getuid?.()));
  if (ids) t.is((await fs.readFile(path.join(s.root, 'groups.out'), 'utf8')).trim(), String(ids.gid), 'no supplementary groups of root');
  t.is((await backend.list())[0]?.exitCode, 5);
});

test('echoOutput repeats runner output lines to the logger at debug', async (t) => {
  const dataDir = await tempDir(t, 'rf-proc-');
  const lines: string[] = [];
  const { pino } = await import('pino');
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
  const backend = createProcessBackend({ host: HOST, dataDir, logger, pollMs: 25, echoOutput: true });
  t.teardown(backend.watch!(() => undefined));
  // The first line is written at once, before create() returns: following "from the end"
  // once create() got round to it lost it (and, under load, the later lines too).
  const s = await spec(dataDir, `${HOST}-cd-echo01`, 'echo first-line; echo second-line; while :; do sleep 0.05; done');
  await backend.create(s);
  t.teardown(() => backend.destroy(s.name, { graceMs: 100 }));
  await until(() => lines.some((l) => l.includes('second-line')));
  const rec = JSON.parse(lines.find((l) => l.includes('second-line'))!) as { runner: string; level: number };
  t.is(rec.runner, s.name);
  t.is(rec.level, 20);
  t.true(lines.some((l) => l.includes('first-line')), 'the line written before create() returned is echoed too');
});

test('echoOutput repeats the output of a runner that exits at once', async (t) => {
  const dataDir = await tempDir(t, 'rf-proc-');
  const lines: string[] = [];
  const { pino } = await import('pino');
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
  const backend = createProcessBackend({ host: HOST, dataDir, logger, pollMs: 25, echoOutput: true });
  const exits: RunnerExit[] = [];
  t.teardown(backend.watch!((e) => void exits.push(e)));
  const s = await spec(dataDir, `${HOST}-cd-echo02`, 'echo only-line; exit 4');
  await backend.create(s);
  t.teardown(() => backend.destroy(s.name, { graceMs: 100 }));
  // The exit is reported after the last output was pumped: no wait on the poll needed.
  await until(() => exits.find((x) => x.name === s.name));
  t.true(lines.some((l) => l.includes('only-line')));
});
