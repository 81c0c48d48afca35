import { existsSync } from 'node:fs';
import type { RunnerLimits } from '../../config/types.js';
import type { CommandRunner } from '../systemd/exec.js';

/**
 * Each process runner in its own transient scope (`systemd-run --scope`), when the daemon is
 * root on a systemd host.
 *
 * Why: the daemon's unit has NotifyAccess=all (its sd_notify sender is a `systemd-notify`
 * child), so PID 1 takes notify messages from every process in the unit's cgroup. A runner
 * started as a plain child stays there, and its job can send `WATCHDOG=trigger`, `STOPPING=1`
 * or `MAINPID=` to /run/systemd/notify (world-writable) and have the daemon killed. In a scope
 * of its own the job is outside that cgroup. The scope also outlives a daemon restart (the
 * runner is adopted as before) and is killed as a whole on destroy, setsid'd leftovers included.
 *
 * systemd-run asks PID 1 for the scope with its own pid, moves itself in and execs the command:
 * the runner keeps the pid the daemon spawned, so the exit event and the pid file work as
 * before. PID 1's private socket is root only: a non-root daemon keeps today's behaviour.
 */

export const scopeUnit = (runner: string) => `rf-process-${runner}.scope`;

const BIN_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin'];

/** The absolute path of a system tool, or undefined. */
export function findTool(name: string): string | undefined {
  return BIN_DIRS.map((d) => `${d}/${name}`).find((p) => existsSync(p));
}

export interface ScopeSupport {
  /** systemd-run's path when runners get scopes. */
  systemdRun?: string;
  /** Why not, for doctor and the log. */
  reason?: string;
}

/** Scopes need root (PID 1's private socket), systemd as PID 1 and systemd-run. */
export function detectScopes(): ScopeSupport {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return { reason: 'the daemon is not root' };
  if (!existsSync('/run/systemd/system')) return { reason: 'systemd is not PID 1 here' };
  const systemdRun = findTool('systemd-run');
  return systemdRun ? { systemdRun } : { reason: 'systemd-run is missing' };
}

/** argv that runs the rest of the command line in the runner's scope (same pid). */
export function scopePrefix(systemdRun: string, runner: string, properties: string[] = []): string[] {
  return [systemdRun, '--scope', '--quiet', '--collect', `--unit=${scopeUnit(runner)}`, ...properties.flatMap((p) => ['-p', p]), '--'];
}

/**
 * Everything left in the runner's scope is killed and the scope stopped: a job's setsid'd or
 * double-forked processes included. "No such unit" (5, or 1 from kill) means nothing is left.
 */
export async function stopScope(run: CommandRunner, runner: string): Promise<void> {
  const unit = scopeUnit(runner);
  await run(['systemctl', 'kill', '--signal=SIGKILL', '--', unit]);
  await run(['systemctl', 'stop', '--', unit]);
}

/**
 * pools[].limits as the scope's own resource properties (systemd writes the cgroup files):
 * MemoryMax with no swap on top, CPUQuota (100% = one CPU), TasksMax. The Listener and its jobs
 * share the scope; the job hook raises the job's oom_score_adj so the OOM killer takes it first.
 */
export function scopeProperties(l: RunnerLimits | undefined): string[] {
  if (!l) return [];
  const out: string[] = [];
  if (l.memory) out.push(`MemoryMax=${l.memory}`, 'MemorySwapMax=0');
  if (l.cpus) out.push(`CPUQuota=${Math.round(l.cpus * 100)}%`);
  if (l.pids) out.push(`TasksMax=${l.pids}`);
  return out;
}
