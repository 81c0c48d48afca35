import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fs, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startEmulator } from '../emulator/index.js';
import type { Emulator } from '../emulator/types.js';
import { poolYaml, until } from '../helpers/daemon.js';
import { killRunners } from '../daemon/lifecycle-kit.js';
import { tempDir } from '../helpers/temp.js';
import { BIN, freePort, ROOT } from './kit.js';

/** The real `runner-fleet daemon` process (bin.ts), signals and all, against the emulator. */
const PAT = 'test-pat';

function configYaml(emu: Emulator, dataDir: string, port: number, size: number | string): string {
  return `host: { name: h1, dataDir: ${dataDir} }
github:
  url: ${emu.url}
  apiUrl: ${emu.apiUrl}
  auth:
    token: \${GITHUB_TOKEN}
api: { listen: 127.0.0.1:${port} }
reconcile: { interval: 1s }
shutdown: { mode: drain, drainTimeout: 30s }
pools:
${poolYaml({ name: 'cd', size })}`;
}

const env = { ...process.env, GITHUB_TOKEN: PAT, RUNNER_FLEET_LOG_LEVEL: 'debug' };

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', BIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d));
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const ours = (emu: Emulator) => emu.runners().filter((r) => /^h1-cd-[a-z0-9]{6,}$/.test(r.name));
const onlineNames = (emu: Emulator) => ours(emu).filter((r) => r.status === 'online').map((r) => r.name).sort();

async function healthz(port: number): Promise<number> {
  return fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status, () => 0);
}

/** Every process below `pid` (its children, theirs...), from /proc. */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const e of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      // ppid is the 2nd field after the parenthesised comm (which may itself hold spaces or parens).
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  for (let todo = [pid]; todo.length; ) {
    const p = todo.pop()!;
    for (const [c, pp] of parent) if (pp === p) (out.push(c), todo.push(c));
  }
  return out;
}

function jitIn(pid: number): string | undefined {
  try {
    const v = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((x) => x.startsWith('ACTIONS_RUNNER_INPUT_JITCONFIG='));
    return v?.slice(v.indexOf('=') + 1);
  } catch {
    return undefined;
  }
}

/**
 * The JIT configs handed to the running runners (never from logs). Since secrets travel in a
 * 0600 file the shim's child loads and deletes before exec, only the runner process itself (below
 * the shim) got one: the long-lived supervising shim (the pid file's pid) must hold none, and the
 * secret file must be gone.
 */
async function jitValues(dataDir: string): Promise<{ values: string[]; inShim: number; secretFilesLeft: number }> {
  const dir = path.join(dataDir, 'process');
  const out = { values: [] as string[], inShim: 0, secretFilesLeft: 0 };
  for (const f of (await fs.readdir(dir)).filter((x) => x.endsWith('.json'))) {
    const { pid, root } = JSON.parse(await fs.readFile(path.join(dir, f), 'utf8')) as { pid: number; root: string };
    if (jitIn(pid) !== undefined) out.inShim++;
    if (existsSync(path.join(root, '.rf', 'secret.env'))) out.secretFilesLeft++;
    const jit = descendants(pid).map(jitIn).find((v) => v !== undefined);
    if (jit) out.values.push(jit);
  }
  return out;
}

test('runner-fleet daemon as a process: healthz, status, SIGHUP (bad then good config), SIGTERM drain → exit 0, status from the DB', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const dir = await tempDir(t, 'rf-cli-daemon-');
  const dataDir = path.join(dir, 'data');
  const cfg = path.join(dir, 'config.yaml');
  const port = await freePort();
  await fs.writeFile(cfg, configYaml(emu, dataDir, port, 1));

  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', BIN, 'daemon', '-c', cfg], {
    cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logs = '';
  child.stdout!.on('data', (d: Buffer) => (logs += d));
  child.stderr!.on('data', (d: Buffer) => (logs += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  t.teardown(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await killRunners(dataDir);
  });

  await until(async () => {
    if (child.exitCode !== null) throw new Error(`daemon exited ${child.exitCode}:\n${logs}`);
    return (await healthz(port)) === 200;
  }, 30_000, 'healthz 200');
  await until(() => onlineNames(emu).length === 1, 30_000, 'one runner online');
  const first = onlineNames(emu);

  const st = await cli(['status', '--json', '-c', cfg]);
  t.is(st.code, 0, st.stderr);
  const report = JSON.parse(st.stdout) as { source: string; pools: { name: string; runners: { name: string }[] }[] };
  t.is(report.source, 'daemon');
  t.deepEqual(report.pools.find((p) => p.name === 'cd')!.runners.map((r) => r.name), first);

  // SIGHUP with an invalid config: refused and logged; the running config goes on.
  await fs.writeFile(cfg, configYaml(emu, dataDir, port, '"two"'));
  child.kill('SIGHUP');
  await until(() => /reload refused/.test(logs), 10_000, 'reload refusal logged');
  t.is(await healthz(port), 200);
  t.deepEqual(onlineNames(emu), first);
  t.is(child.exitCode, null, 'still running');

  // SIGHUP with a valid config: size 1 → 2.
  await fs.writeFile(cfg, configYaml(emu, dataDir, port, 2));
  child.kill('SIGHUP');
  await until(() => onlineNames(emu).length === 2, 30_000, 'second runner after reload');
  t.true(first.every((n) => onlineNames(emu).includes(n)), 'the first runner kept running');
  const handed = await jitValues(dataDir);
  t.is(handed.values.length, 2, 'each runner process got its JIT config');
  t.is(handed.inShim, 0, 'a JIT config in a supervising shim\'s environment');
  t.is(handed.secretFilesLeft, 0, 'a secret file left behind once its runner runs');
  const secrets = handed.values;

  // SIGTERM: drain (idle runners deregistered and stopped), then exit 0.
  child.kill('SIGTERM');
  t.is(await exited, 0);
  t.is(ours(emu).length, 0, 'no runner of ours left on GitHub');
  t.deepEqual((await fs.readdir(path.join(dataDir, 'process'))).filter((f) => f.endsWith('.json')), []);

  const down = await cli(['status', '--json', '-c', cfg]);
  t.is(down.code, 0, down.stderr); // falls back to the state database (contract §3)
  const fromDb = JSON.parse(down.stdout) as { source: string; pools: { name: string; actual: number }[] };
  t.is(fromDb.source, 'database');
  t.is(fromDb.pools.find((p) => p.name === 'cd')!.actual, 0);

  // Logs (debug level) never carry the PAT or a JIT config.
  t.true(logs.length > 0);
  t.false(logs.includes(PAT), 'PAT in logs');
  t.false(/encoded_jit_config|ACTIONS_RUNNER_INPUT_JITCONFIG=/.test(logs), 'JIT config in logs');
  for (const s of secrets) {
    t.false(logs.includes(s), 'JIT value in logs');
    t.false(logs.includes(s.slice(0, 40)), 'part of a JIT value in logs');
  }
  t.false(st.stdout.includes(PAT) || down.stdout.includes(PAT));
});
