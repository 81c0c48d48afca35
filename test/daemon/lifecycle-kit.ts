/**
 * Small helpers shared by the runner-lifecycle e2e tests (test/daemon/lifecycle-*.test.ts):
 * "ours" filters over the emulator's runners, a shifted clock shared by emulator and
 * daemon (token expiry without sleeping), and reads of the daemon's HTTP status.
 */
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import type { StatusReport } from '../../src/api/types.js';
import type { PidRecord } from '../../src/backends/process/pidfile.js';
import { isSameProcess } from '../../src/backends/process/procfs.js';
import { systemClock, type Clock } from '../../src/clock.js';
import type { EmulatedRunner, Emulator } from '../emulator/types.js';
import type { DaemonFixture } from '../helpers/daemon.js';

export const JOB_LABELS = ['self-hosted', 'linux', 'cd-pipeline'];

/** Registrations this daemon (host h1) owns for `pool`: the whole-name pattern of docs/contract.md §5. */
export function ours(rs: EmulatedRunner[], pool = 'cd', host = 'h1'): EmulatedRunner[] {
  const re = new RegExp(`^${host}-${pool}-[a-z0-9]{6,}$`);
  return rs.filter((r) => re.test(r.name));
}

export function online(emu: Emulator, pool = 'cd'): EmulatedRunner[] {
  return ours(emu.runners(), pool).filter((r) => r.status === 'online');
}

/** Requests the emulator served whose templated route contains `route` (optionally one method/status). */
export function requestCount(emu: Emulator, route: string, opts: { method?: string; status?: number } = {}): number {
  return emu
    .requests()
    .filter((r) => r.route.includes(route) && (!opts.method || r.method === opts.method) && (opts.status === undefined || r.status === opts.status))
    .reduce((n, r) => n + r.count, 0);
}

/**
 * Real time plus an offset the test moves forward: the emulator's token expiry and the
 * daemon's token cache see the same "now", while processes and polls keep running on real time.
 */
export class ShiftedClock implements Clock {
  offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return systemClock.sleep(ms, signal);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export async function httpStatus(fx: DaemonFixture): Promise<StatusReport> {
  const res = await fetch(`http://127.0.0.1:${fx.daemon.apiPort}/api/v1/status`);
  if (res.status !== 200) throw new Error(`status answered ${res.status}`);
  return (await res.json()) as StatusReport;
}

/** Live store rows of a pool (what counts towards its size). */
export function liveRows(fx: DaemonFixture, pool: string) {
  return fx.daemon.store.runners.list({ pool }).filter((r) => ['pending_create', 'creating', 'idle', 'busy'].includes(r.state));
}

/** Every row ever created for a pool: one per create attempt. */
export function attempts(fx: DaemonFixture, pool: string): number {
  return fx.daemon.store.runners.list({ pool, includeGone: true }).length;
}

/** The process backend's pid records: `{dataDir}/process/{name}.json`. */
export async function pidRecords(dataDir: string): Promise<PidRecord[]> {
  const dir = path.join(dataDir, 'process');
  const files = await fs.readdir(dir).catch(() => [] as string[]);
  const out: PidRecord[] = [];
  for (const f of files.filter((x) => x.endsWith('.json'))) {
    try {
      out.push(JSON.parse(await fs.readFile(path.join(dir, f), 'utf8')) as PidRecord);
    } catch {
      // torn write: skip
    }
  }
  return out;
}

/**
 * Test teardown: stop the daemon leaving runners (keep), then end the runner process groups this
 * test started, verified by pid + start time + argv, so none outlives the test and its emulator.
 */
export async function stopAndKillRunners(fx: DaemonFixture): Promise<void> {
  await fx.stop('keep');
  await killRunners(fx.config.host.dataDir);
}

export async function killRunners(dataDir: string): Promise<void> {
  for (const r of await pidRecords(dataDir)) {
    if (!isSameProcess(r)) continue;
    try {
      process.kill(-r.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie is dead for our purposes.
  return !/\) [ZX] /.test(readStat(pid));
}

function readStat(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return ') X ';
  }
}
