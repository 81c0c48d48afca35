import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmulator } from '../emulator/index.js';
import type { Emulator } from '../emulator/types.js';
import { until } from '../helpers/daemon.js';
import { killRunners } from '../daemon/lifecycle-kit.js';
import { assertQueueClean, scaleSetPoolYaml, SS_LABELS } from '../daemon/scaleset-kit.js';
import { BIN, freePort, ROOT } from './kit.js';

/** The real daemon process, SIGKILLed with a scale-set session open: GitHub keeps that session ~50 s. */

function configYaml(emu: Emulator, dataDir: string, port: number): string {
  return `host: { name: h1, dataDir: ${dataDir} }
github: { url: ${emu.url}, apiUrl: ${emu.apiUrl}, auth: { token: test-pat } }
api: { listen: 127.0.0.1:${port} }
reconcile: { interval: 1s }
shutdown: { mode: keep, drainTimeout: 30s }
pools:
${scaleSetPoolYaml()}`;
}

function startDaemonProcess(cfg: string): { child: ChildProcess; logs: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', BIN, 'daemon', '-c', cfg], { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let logs = '';
  child.stdout!.on('data', (d: Buffer) => (logs += d));
  child.stderr!.on('data', (d: Buffer) => (logs += d));
  return { child, logs: () => logs };
}

test.serial('SIGKILL with a session open: the restart sees 409 while it lives, backs off, then serves jobs again; nothing ran twice', async (t) => {
  // The killed session lives until the test moves the emulator's clock past its expiry, however
  // long the restart takes on a loaded machine.
  let offsetMs = 0;
  const emu = await startEmulator({ clock: { now: () => Date.now() + offsetMs }, scaleSets: { holdMs: 1500, sessionExpiryMs: 10 * 60_000 } });
  t.teardown(() => emu.close());
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rf-ss-kill-'));
  const dataDir = path.join(dir, 'data');
  const cfg = path.join(dir, 'config.yaml');
  await fs.writeFile(cfg, configYaml(emu, dataDir, await freePort()));
  const children: ChildProcess[] = [];
  t.teardown(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await killRunners(dataDir);
    await fs.rm(dir, { recursive: true, force: true });
  });

  const a = startDaemonProcess(cfg);
  children.push(a.child);
  await until(() => emu.scaleSets.get('h1-burst')?.sessionOwner === 'h1', 60_000, `first session\n${a.logs()}`);
  const before = emu.queueJob({ labels: SS_LABELS, script: 'echo before' });
  t.is((await emu.waitForJob(before, 60_000)).conclusion, 'success');

  a.child.kill('SIGKILL');
  await new Promise((r) => a.child.once('exit', r));
  const b = startDaemonProcess(cfg);
  children.push(b.child);
  // The killed process's session is still alive on GitHub's side: 409, retried.
  await until(() => emu.scaleSets.get('h1-burst')!.conflicts > 1, 90_000, `409 seen\n${b.logs()}`);
  const status = await until(async () => {
    const port = Number(/listen: 127\.0\.0\.1:(\d+)/.exec(await fs.readFile(cfg, 'utf8'))![1]);
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/status`).catch(() => null);
    return res?.ok ? ((await res.json()) as { pools: { name: string; scaleSet?: { listener: string } }[] }) : null;
  }, 30_000, 'status');
  t.is(status.pools.find((p) => p.name === 'burst')!.scaleSet!.listener, 'conflict');
  offsetMs += 10 * 60_000; // the old session expires
  const after = [1, 2].map(() => emu.queueJob({ labels: SS_LABELS, script: 'echo after' }));
  const done = await Promise.all(after.map((id) => emu.waitForJob(id, 90_000)));
  t.true(done.every((j) => j.conclusion === 'success'));
  t.is(emu.scaleSets.list().length, 1, 'the same scale set');
  t.is(emu.scaleSets.get('h1-burst')!.sessionsCreated, 2);
  // Every job ran exactly once, each on its own runner.
  const names = [before, ...after].map((id) => emu.job(id)!.runnerName);
  t.is(new Set(names).size, 3);
  t.true(emu.jobs().every((j) => j.status === 'completed'));
  await until(() => emu.scaleSets.get('h1-burst')!.messages.every((m) => m.acked), 20_000, 'acks');
  assertQueueClean(t, emu);
});

test.serial('deregister --all with the daemon stopped deletes the host scale set from the state database and GitHub', async (t) => {
  const emu = await startEmulator({ scaleSets: { holdMs: 1500 } });
  t.teardown(() => emu.close());
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rf-ss-offline-'));
  const dataDir = path.join(dir, 'data');
  const cfg = path.join(dir, 'config.yaml');
  await fs.writeFile(cfg, configYaml(emu, dataDir, await freePort()));
  const a = startDaemonProcess(cfg);
  t.teardown(async () => {
    if (a.child.exitCode === null) a.child.kill('SIGKILL');
    await killRunners(dataDir);
    await fs.rm(dir, { recursive: true, force: true });
  });
  await until(() => emu.scaleSets.get('h1-burst')?.sessionOwner === 'h1', 60_000, `session\n${a.logs()}`);
  a.child.kill('SIGTERM');
  await new Promise((r) => a.child.once('exit', r));
  t.is(emu.scaleSets.list().length, 1, 'a stop keeps the scale set');

  const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', BIN, 'deregister', '--all', '-c', cfg], { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d));
    p.stderr.on('data', (d: Buffer) => (out += d));
    p.on('close', (code) => resolve({ code, out }));
  });
  t.is(r.code, 0, r.out);
  t.deepEqual(emu.scaleSets.list(), []);
});
