import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import { startEmulator } from '../emulator/index.js';
import { killRunners } from '../daemon/lifecycle-kit.js';

/** The real `runner-fleet` process (src/cli/bin.ts through tsx): exit codes and output as a user sees them. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'src/cli/bin.ts');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cli(args: string[], env: NodeJS.ProcessEnv = {}, opts: { input?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', BIN, ...args], {
      cwd: ROOT, env: { PATH: process.env.PATH, HOME: os.tmpdir(), ...env }, stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d));
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    p.stdin.end(opts.input ?? '');
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export function json<T = Record<string, unknown>>(t: ExecutionContext, r: Run): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    t.fail(`stdout is not JSON (exit ${r.code}): ${r.stdout}\nstderr: ${r.stderr}`);
    throw new Error('not JSON');
  }
}

export async function tmp(t: ExecutionContext, prefix = 'rf-cli-'): Promise<string> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.promises.rm(dir, { recursive: true, force: true }));
  return dir;
}

export function write(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

/** A TCP server that accepts connections and never says a word (a black-holing middlebox). */
export async function silentServer(t: ExecutionContext): Promise<number> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => srv.close(() => r()));
  });
  return (srv.address() as net.AddressInfo).port;
}

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

/** A minimal valid config: one process pool, org acme; `extra` YAML appended at top level. */
export function configYaml(o: { dataDir: string; apiUrl: string; url?: string; token?: string; extra?: string; pool?: string; listen?: string }): string {
  return `host: { name: h1, dataDir: ${o.dataDir} }
github:
  url: ${o.url ?? 'https://github.com'}
  apiUrl: ${o.apiUrl}
  auth: { token: ${o.token ?? 'test-pat'} }
api: { listen: ${o.listen ?? '127.0.0.1:0'} }
${o.extra ?? ''}
pools:
${o.pool ?? `  - name: cd
    scope: { org: acme }
    backend: process
    size: 1
    env: { RUNNER_ALLOW_RUNASROOT: "1" }`}
`;
}

export interface DaemonProcess {
  child: import('node:child_process').ChildProcess;
  logs(): string;
  exited: Promise<number | null>;
}

/** `runner-fleet daemon -c cfg` as a real process; killed (SIGKILL) at teardown if still running. */
export function spawnDaemon(t: ExecutionContext, cfg: string, env: NodeJS.ProcessEnv = {}): DaemonProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', BIN, 'daemon', '-c', cfg], {
    cwd: ROOT, env: { PATH: process.env.PATH, HOME: os.tmpdir(), RUNNER_FLEET_LOG_LEVEL: 'debug', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logs = '';
  child.stdout.on('data', (d: Buffer) => (logs += d));
  child.stderr.on('data', (d: Buffer) => (logs += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, logs: () => logs, exited };
}

export async function healthz(port: number): Promise<number> {
  return fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status, () => 0);
}

/** An emulator, a temp dir with its data dir and a free API port; runners left behind are killed at teardown. */
export async function daemonDirs(t: ExecutionContext) {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const dir = await tmp(t);
  const dataDir = path.join(dir, 'data');
  t.teardown(() => killRunners(dataDir));
  return { emu, dir, dataDir, port: await freePort() };
}
