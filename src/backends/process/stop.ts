import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../../log.js';
import type { PidRecord } from './pidfile.js';
import { groupAlive, isSameProcess, signalGroup } from './procfs.js';

/** After SIGKILL, how long to wait for the kernel to finish the group off. */
const KILL_WAIT_MS = 5000;

/**
 * SIGINT (the Listener's "stop after cleanup"), SIGTERM at grace/2, SIGKILL at grace.
 * Once the leader was verified, its group id cannot be reused while any member lives,
 * so signalling the group until it is empty stays safe after the shim itself is gone.
 */
export async function stopGroup(rec: PidRecord, graceMs: number, log: Logger): Promise<void> {
  const gone = () => !isSameProcess(rec) && !groupAlive(rec.pid);
  const steps: [NodeJS.Signals, number][] = [
    ['SIGINT', graceMs / 2],
    ['SIGTERM', graceMs / 2],
    ['SIGKILL', KILL_WAIT_MS],
  ];
  for (const [sig, waitMs] of steps) {
    log.info({ runner: rec.name, pid: rec.pid, signal: sig }, 'stopping runner process group');
    signalGroup(rec.pid, sig);
    if (await waitFor(gone, waitMs)) return;
  }
  log.warn({ runner: rec.name, pid: rec.pid }, 'runner process group survived SIGKILL');
}

/** Real processes run on real time: poll /proc every 25 ms up to a bound. */
async function waitFor(pred: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + Math.max(0, timeoutMs);
  for (;;) {
    if (pred()) return true;
    if (Date.now() >= deadline) return false;
    await delay(Math.min(25, Math.max(1, deadline - Date.now())));
  }
}
