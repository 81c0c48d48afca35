/**
 * The real `runner-fleet daemon` process with failpoints armed (src/daemon/failpoints.ts):
 * the test waits until it is parked between the two steps of an action, then SIGKILLs it,
 * which is exactly a crash between the two calls.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import type { Emulator } from '../emulator/types.js';
import { emulatorConfigYaml, until } from '../helpers/daemon.js';
import { killRunners } from './lifecycle-kit.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'src/cli/bin.ts');

export interface DaemonChild {
  dir: string;
  configPath: string;
  child: ChildProcess;
  logs(): string;
  /** Rewrite the config (same data dir) and send SIGHUP. */
  reload(pools: string, extra?: string): Promise<void>;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
}

export async function spawnDaemon(
  t: ExecutionContext,
  emu: Emulator,
  pools: string,
  o: { host?: string; extra?: string; failpoints?: string[]; env?: Record<string, string> } = {},
): Promise<DaemonChild> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rf-crash-'));
  const configPath = path.join(dir, 'config.yaml');
  const write = (p: string, extra = o.extra ?? '') => fs.writeFile(configPath, emulatorConfigYaml(emu, path.join(dir, 'data'), p, extra, o.host));
  await write(pools);
  const d = spawnCliDaemon(t, configPath, { RUNNER_FLEET_FAILPOINTS: (o.failpoints ?? []).join(','), ...o.env });
  return {
    ...d, dir, configPath,
    async reload(p, extra) {
      await write(p, extra);
      d.child.kill('SIGHUP');
    },
  };
}

/** `runner-fleet daemon -c configPath` as a child process, debug logs collected; SIGKILLed at teardown. */
export function spawnCliDaemon(t: ExecutionContext, configPath: string, env: Record<string, string> = {}): Pick<DaemonChild, 'child' | 'logs' | 'kill'> & { exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', BIN, 'daemon', '-c', configPath], {
    cwd: ROOT, env: { ...process.env, RUNNER_FLEET_LOG_LEVEL: 'debug', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logs = '';
  child.stdout!.on('data', (d: Buffer) => (logs += d));
  child.stderr!.on('data', (d: Buffer) => (logs += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return {
    child, exited,
    logs: () => logs,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Wait for a log line of the daemon child (JSON lines; matched on the raw text). */
export function waitLog(d: Pick<DaemonChild, 'child' | 'logs'>, re: RegExp, timeoutMs = 60_000): Promise<true> {
  return until(() => {
    if (d.child.exitCode !== null) throw new Error(`daemon exited ${d.child.exitCode}:\n${d.logs()}`);
    return re.test(d.logs());
  }, timeoutMs, String(re)) as Promise<true>;
}

/** The runner a failpoint parked on, from its log line. */
export function parkedRunner(d: DaemonChild, point: string): string {
  for (const line of d.logs().split('\n')) {
    if (!line.includes('failpoint reached')) continue;
    const rec = JSON.parse(line) as { failpoint?: string; runner?: string };
    if (rec.failpoint === point && rec.runner) return rec.runner;
  }
  throw new Error(`no failpoint ${point} in the logs`);
}

/**
 * A daemon process (process pools) parked right after a JIT registration (failpoint
 * create.registered): its runner is registered and offline. Its runners are killed at teardown.
 */
export async function parkedAfterRegistration(t: ExecutionContext, emu: Emulator, pools: string): Promise<{ daemon: DaemonChild; runner: string }> {
  const daemon = await spawnDaemon(t, emu, pools, { failpoints: ['create.registered'] });
  t.teardown(() => killRunners(`${daemon.dir}/data`));
  await waitLog(daemon, /failpoint reached/);
  return { daemon, runner: parkedRunner(daemon, 'create.registered') };
}
