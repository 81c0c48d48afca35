/**
 * Hostile jobs in a process pool with process.user (no systemd here: runners are plain
 * children of the daemon): a job reaching for its sibling's credentials and Listener
 * environment, and a job that leaves a setsid'd process behind swapping a directory of its root
 * for a link out while the daemon removes the root.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { createProcessBackend } from '../../src/backends/process/index.js';
import { pidsOfUid } from '../../src/backends/process/procfs.js';
import { runnerUserName } from '../../src/backends/users.js';
import { removeRunnerDir } from '../../src/runner/prepare.js';
import { silentLogger } from '../../src/log.js';
import { startEmulator } from '../emulator/index.js';
import { poolYaml, startTestDaemon, until } from '../helpers/daemon.js';
import { ensureJobUser, JOB_USER, siblingAttack } from './isolation-kit.js';
import { buildPlan } from '../../src/cli/plan.js';
import { checkJobIsolation } from '../../src/doctor/index.js';
import { config, context, pool } from '../doctor/util.js';

const userExists = (u: string) => {
  try {
    execFileSync('id', ['-u', u], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

test.serial("per-runner users: a job cannot read its sibling's .credentials_rsaparams or Listener environment; each runner's user goes with it", async (t) => {
  if (process.getuid?.() !== 0) return void t.fail('needs root (useradd, switching users)');
  t.timeout(3 * 60_000);
  ensureJobUser();
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const pools = poolYaml({ name: 'pu', size: 2, labels: ['siblings'], env: { RUNNER_ALLOW_RUNASROOT: '' }, extra: `    process: { user: ${JOB_USER} }\n` });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-sec-sib-'));
  fs.chmodSync(dir, 0o711);
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fx = await startTestDaemon(t, emu, pools, { host: 'hsib', dir });
  t.teardown(() => fx.stop('drain'));
  await emu.waitForRunners((rs) => rs.filter((r) => r.status === 'online').length === 2, 60_000);
  const names = emu.runners().map((r) => r.name);
  const roots = names.map((n) => path.join(fx.config.host.dataDir, 'runners', n));
  for (const r of roots) await until(() => fs.existsSync(path.join(r, '.credentials_rsaparams')), 30_000, 'runners configured');
  const script = siblingAttack(roots, 'echo "user=$(id -un) group=$(id -gn) other=$OTHER"');
  const job = await emu.waitForJob(emu.queueJob({ labels: ['self-hosted', 'siblings'], script }), 60_000);
  t.is(job.conclusion, 'success', job.output);
  const who = /^user=(\S+) group=(\S+) other=(\S+)$/m.exec(job.output);
  t.truthy(who, job.output);
  t.regex(who![1]!, /^rf-[0-9a-f]{13}$/, 'the runner runs as its own user');
  t.is(who![2], JOB_USER, "in the pool user's group");
  t.regex(job.output, /^sibling-processes=[1-9]/m, 'the sibling runs and its processes are visible');
  t.regex(job.output, /unreadable: .*\.credentials_rsaparams$/m);
  t.false(job.output.includes('READ-OK'), job.output);
  t.false(job.output.includes('LIST-OK'), job.output);
  // The ephemeral runner that took the job is destroyed, and its user with it.
  const jobRunner = names.find((n) => who![3] !== path.join(fx.config.host.dataDir, 'runners', n))!;
  await until(() => !userExists(runnerUserName(jobRunner)), 60_000, 'the job runner user removed');
});

test.serial('a process a job leaves behind (setsid) is killed before the root goes; a link it swaps in never makes rm delete outside', async (t) => {
  if (process.getuid?.() !== 0) return void t.fail('needs root (useradd, switching users)');
  t.timeout(60_000);
  ensureJobUser();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-sec-left-'));
  fs.chmodSync(dataDir, 0o711);
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const victim = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-sec-victim-'));
  t.teardown(() => fs.rmSync(victim, { recursive: true, force: true }));
  for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(victim, `f${i}`), 'v');
  const name = 'hl-cd-left01';
  const root = path.join(dataDir, 'runners', name);
  fs.mkdirSync(path.join(root, '_work', 'swap'), { recursive: true });
  for (let i = 0; i < 200; i++) fs.mkdirSync(path.join(root, '_work', 'swap', `d${i}`));
  const ids = ensureJobUser();
  execFileSync('chown', ['-R', `${ids.uid}:${ids.gid}`, root]);
  const backend = createProcessBackend({ host: 'hl', dataDir, logger: silentLogger(), pollMs: 50 });
  t.teardown(() => backend.destroy(name, { graceMs: 0 }).catch(() => undefined));
  // The "job": a setsid'd swapper out of the runner's process group, then the Listener waits.
  const job = `setsid sh -c 'while :; do for d in "$0"/_work/swap/d*; do rm -rf "$d" 2>/dev/null; ln -sfn "$1" "$d" 2>/dev/null; done; done' "$R" "${victim}" < /dev/null > /dev/null 2>&1 &
touch "$R/started"; exec sleep 300`;
  await backend.create({
    name, pool: 'cd', host: 'hl', root, user: `${ids.uid}:${ids.gid}`, process: { user: JOB_USER },
    command: ['/bin/sh', '-c', job], env: { PATH: '/usr/bin:/bin', R: root }, secretEnv: {},
    mounts: [], ephemeral: true, network: { dns: [], extraHosts: {} },
  });
  const user = runnerUserName(name);
  await until(() => fs.existsSync(path.join(root, 'started')), 10_000, 'job started');
  const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
  t.true(pidsOfUid(uid).length >= 2, 'the Listener and the swapper run as the runner user');
  await backend.destroy(name, { graceMs: 200 });
  t.deepEqual(pidsOfUid(uid), [], 'no process of the runner survives destroy');
  t.false(userExists(user), 'the runner user is removed');
  await removeRunnerDir(dataDir, name);
  t.false(fs.existsSync(root));
  t.is(fs.readdirSync(victim).length, 50, 'the directory outside the root is intact');
});

test('plan and doctor: process.isolation defaults to per-runner; a shared pool of more than one runner is called out', async (t) => {
  const cfg = config('/var/lib/rf', {
    pools: [
      pool({ name: 'own', size: 3, process: { user: JOB_USER } }),
      pool({ name: 'shared', size: 3, process: { user: JOB_USER, isolation: 'shared' } }),
    ],
  });
  const plan = buildPlan(cfg, 'x64');
  const of = (n: string) => plan.pools.find((p) => p.name === n)!;
  t.like(of('own').backend, { kind: 'process', isolation: 'per-runner' });
  t.deepEqual(of('own').warnings.filter((w) => /siblings/.test(w)), []);
  t.true(of('shared').warnings.some((w) => /siblings/.test(w)));
  const rows = await checkJobIsolation(context(cfg));
  t.is(rows.find((r) => r.name === 'isolation own')?.status, process.getuid?.() === 0 ? 'ok' : 'fail');
  t.is(rows.find((r) => r.name === 'isolation shared')?.status, process.getuid?.() === 0 ? 'warn' : 'fail');
});
