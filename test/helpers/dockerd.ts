import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { openSync, closeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import Dockerode from 'dockerode';
import { until } from './poll.js';

/**
 * A throwaway Docker engine of the test's own (own data root, exec root, socket, bridge; no
 * iptables), so a test can stop and restart "the engine" without disturbing suites using the
 * shared one. Needs root, dockerd and iproute2 (scripts/test-env/docker.sh installs them).
 *
 * Not `--bridge none`: a daemon started that way deletes the host's `docker0` interface,
 * which breaks every container of the shared engine.
 */
export interface PrivateDockerd {
  docker: Dockerode;
  socketPath: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Copies an image from the shared engine (no registry here). */
  loadFrom(shared: Dockerode, image: string): Promise<void>;
}

const live = new Set<ChildProcess>();
const bridges = new Set<string>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGTERM');
  for (const b of bridges) dropBridge(b);
});

function makeBridge(): string {
  const name = `rfbr${randomBytes(4).toString('hex')}`; // 12 chars: under IFNAMSIZ
  execFileSync('ip', ['link', 'add', 'name', name, 'type', 'bridge']);
  bridges.add(name);
  execFileSync('ip', ['addr', 'add', `172.31.${randomInt(200, 255)}.1/24`, 'dev', name]);
  execFileSync('ip', ['link', 'set', name, 'up']);
  return name;
}

function dropBridge(name: string): void {
  try {
    execFileSync('ip', ['link', 'del', name], { stdio: 'ignore' });
  } catch {
    // already gone
  }
  bridges.delete(name);
}

async function waitPing(docker: Dockerode, child: ChildProcess, timeoutMs: number): Promise<void> {
  await until(async () => {
    if (child.exitCode !== null) throw new Error(`private dockerd exited with ${child.exitCode}`);
    return docker.ping().then(() => true, () => false);
  }, timeoutMs, 'the private dockerd to answer', 100);
}

export async function startPrivateDockerd(t: ExecutionContext): Promise<PrivateDockerd> {
  const dir = await mkdtemp('/tmp/rf-dockerd-');
  const socketPath = path.join(dir, 'docker.sock');
  const docker = new Dockerode({ socketPath });
  const id = path.basename(dir);
  const bridge = makeBridge();
  let child: ChildProcess | undefined;

  const start = async () => {
    const log = openSync(path.join(dir, 'dockerd.log'), 'a');
    child = spawn('dockerd', [
      '--data-root', path.join(dir, 'data'), '--exec-root', path.join(dir, 'exec'),
      '-H', `unix://${socketPath}`, '--pidfile', path.join(dir, 'dockerd.pid'),
      '--bridge', bridge, '--iptables=false', '--ip-masq=false', '--ip-forward=false',
      '--cgroup-parent', id,
    ], { stdio: ['ignore', log, log] });
    closeSync(log);
    live.add(child);
    await waitPing(docker, child, 30_000);
  };
  const stop = async () => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 20_000)))]);
    clearTimeout(timer);
    if (c.exitCode === null) c.kill('SIGKILL');
    live.delete(c);
  };
  const loadFrom = async (shared: Dockerode, image: string) => {
    const tar = await shared.getImage(image).get();
    const out = await docker.loadImage(tar);
    await new Promise((resolve, reject) => docker.modem.followProgress(out, (err: Error | null) => (err ? reject(err) : resolve(undefined))));
  };

  t.teardown(async () => {
    if (child?.exitCode === null) {
      const leftovers = await docker.listContainers({ all: true }).catch(() => []);
      for (const c of leftovers) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    }
    await stop();
    dropBridge(bridge);
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  });
  await start();
  return { docker, socketPath, stop, start, loadFrom };
}
