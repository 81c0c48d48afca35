/**
 * Hostile-job suite, stalling the daemon (issue 10 item 4, CONTRACT §6): files in a runner root
 * are the job's. A FIFO, a link to /dev/zero or a huge file where the hooks write must neither
 * block nor exhaust the daemon; its health keeps answering and the runner is replaced.
 */
import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OutputEcho, tailFile } from '../../src/backends/process/output.js';
import { listPidRecords, readExitFile } from '../../src/backends/process/pidfile.js';
import { createLogger } from '../../src/log.js';
import { readJobState } from '../../src/runner/hooks.js';
import { Writable } from 'node:stream';
import { startEmulator } from '../emulator/index.js';
import { poolYaml, startTestDaemon, until } from '../helpers/daemon.js';
import { JOB_LABELS, online, stopAndKillRunners } from '../daemon/lifecycle-kit.js';

const code = (err: unknown) => (err as { code?: string }).code;

async function root(t: ExecutionContext): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rf-sec-root-'));
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }));
  await fs.mkdir(path.join(dir, '.rf'));
  return dir;
}

test('a job file that is a FIFO, a link, a device, huge, a directory or garbage is refused at once, never read', async (t) => {
  const outside = await fs.mkdtemp(path.join(os.tmpdir(), 'rf-sec-outside-'));
  t.teardown(() => fs.rm(outside, { recursive: true, force: true }));
  await fs.writeFile(path.join(outside, 'job'), '{"state":"busy","at":1}');
  const vandalise: Record<string, (job: string, dir: string) => Promise<void>> = {
    fifo: async (job) => void execFileSync('mkfifo', [job]),
    'link to /dev/zero': (job) => fs.symlink('/dev/zero', job),
    'link to a valid file elsewhere': (job) => fs.symlink(path.join(outside, 'job'), job),
    '.rf linked out of the root': async (_job, dir) => {
      await fs.rm(path.join(dir, '.rf'), { recursive: true });
      await fs.symlink(outside, path.join(dir, '.rf'));
    },
    '100 MB file': async (job) => {
      await fs.writeFile(job, '');
      await fs.truncate(job, 100 * 1024 * 1024);
    },
    directory: (job) => fs.mkdir(job),
    garbage: (job) => fs.writeFile(job, 'not json \u0000'),
    'JSON of another shape': (job) => fs.writeFile(job, '{"state":"owned"}'),
  };
  for (const [what, make] of Object.entries(vandalise)) {
    const dir = await root(t);
    await make(path.join(dir, '.rf', 'job'), dir);
    const err = await t.throwsAsync(() => readJobState(dir), undefined, what);
    t.is(code(err), 'RUNNER_FILE_REFUSED', what);
  }
  const ok = await root(t);
  t.is(await readJobState(ok), null);
  await fs.writeFile(path.join(ok, '.rf', 'job'), '{"state":"busy","at":5,"job":"j","runId":7}\n');
  t.deepEqual(await readJobState(ok), { state: 'busy', at: 5, job: 'j', runId: 7 });
});

test('pid and exit files that are a FIFO or a link to /dev/zero read as absent, at once', async (t) => {
  const dataDir = await root(t);
  const dir = path.join(dataDir, 'process');
  await fs.mkdir(dir);
  execFileSync('mkfifo', [path.join(dir, 'h1-cd-fifo0001.json')]);
  await fs.symlink('/dev/zero', path.join(dir, 'h1-cd-zero0001.json'));
  await fs.symlink('/dev/zero', path.join(dir, 'h1-cd-zero0001.exit'));
  t.deepEqual(await listPidRecords(dataDir), []);
  t.is(await readExitFile(path.join(dir, 'h1-cd-zero0001.exit')), undefined);
  // In a runner root (a runner of another user writes it there): a link out is not followed.
  const runner = await root(t);
  await fs.symlink('/dev/zero', path.join(runner, '.rf', 'process-exit'));
  t.is(await readExitFile(path.join(runner, '.rf', 'process-exit'), runner).catch(() => undefined), undefined);
});

test("a process runner's log replaced by a link to a secret or by a FIFO: the daemon echoes nothing and does not block", async (t) => {
  const dir = await root(t);
  const secret = path.join(dir, 'secret');
  await fs.writeFile(secret, 'root-only-secret\n'.repeat(10), { mode: 0o600 });
  const lines: string[] = [];
  const sink = new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) });
  const echo = new OutputEcho(createLogger({ level: 'debug', destination: sink }));
  const log = path.join(dir, 'rf-process.log');
  await fs.writeFile(log, 'first\n');
  await echo.follow('r1', log);
  await fs.rm(log);
  await fs.symlink(secret, log);
  await echo.pump('r1', log);
  t.is(await tailFile(log, 10), '');
  await fs.rm(log);
  execFileSync('mkfifo', [log]);
  await echo.pump('r1', log);
  t.is(await tailFile(log, 10), '');
  t.false(lines.join('').includes('root-only-secret'));
  await fs.rm(log);
  await fs.writeFile(log, 'first\nsecond line\n');
  await echo.pump('r1', log);
  t.true(lines.join('').includes('second line'), 'a regular log is still echoed');
});

/**
 * The job vandalises its runner's hook file, then measures the daemon's /healthz from its own
 * process (the daemon and this test share an event loop, so only another process can time it)
 * while the daemon goes on reconciling; at the end it opens the FIFO for writing (for at most a
 * second), which is what would free a daemon blocked reading it.
 */
function hostileJob(vandalise: string, port: number): string {
  return `${vandalise}
for i in 1 2 3 4 5 6; do
  curl -s -o /dev/null --max-time 5 -w 'healthz=%{http_code} %{time_total}\\n' http://127.0.0.1:${port}/healthz || echo 'healthz=000 5'
  sleep 0.5
done
if [ -p ../.rf/job ]; then timeout 1 sh -c 'echo "{}" > ../.rf/job' || true; fi
`;
}

const vandalised = test.macro(async (t, vandalise: string) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const fx = await startTestDaemon(t, emu, poolYaml({ name: 'cd', size: 1, ephemeral: false }));
  t.teardown(() => stopAndKillRunners(fx));
  const [first] = await until(() => (online(emu).length === 1 ? online(emu) : null), 30_000, 'runner online');

  const job = await emu.waitForJob(emu.queueJob({ labels: JOB_LABELS, script: hostileJob(vandalise, fx.daemon.apiPort) }), 60_000);
  const probes = [...job.output.matchAll(/healthz=(\d+) ([\d.]+)/g)].map((m) => ({ status: Number(m[1]), seconds: Number(m[2]) }));
  t.is(probes.length, 6, job.output);
  t.true(probes.every((p) => p.status === 200), job.output);
  const slowest = Math.max(...probes.map((p) => p.seconds));
  t.log(`slowest /healthz while vandalised: ${(slowest * 1000).toFixed(0)} ms`);
  t.true(slowest < 2, `healthz took ${slowest}s`);

  // A persistent runner would take the next job: this one is replaced instead, once its job ended.
  await until(() => online(emu).length === 1 && online(emu)[0]!.name !== first!.name, 60_000, 'replacement runner');
  t.false(emu.runners().some((r) => r.name === first!.name), 'its registration is gone');
  const row = fx.daemon.store.runners.list({ includeGone: true }).find((r) => r.name === first!.name);
  t.is(row?.reason, 'runner-file-refused');
  t.is(row?.state, 'gone');
});

test('a job that turns its hook file into a FIFO: health answers, the runner is replaced', vandalised, 'rm -f ../.rf/job; mkfifo ../.rf/job');
test('a job that links its hook file to /dev/zero: health answers, the runner is replaced', vandalised, 'ln -sfn /dev/zero ../.rf/job');
test('a job that makes its hook file 100 MB: health answers, the runner is replaced', vandalised, 'truncate -s 100M ../.rf/job');
