import fs from 'node:fs';
import { FleetError } from '../errors.js';

export interface LockOptions {
  /** Give up after this long; default 10 min (a slow runner download holds the lock). */
  timeoutMs?: number;
  pollMs?: number;
  /** Test seam: called when a stale lock is seen, just before taking it over. */
  onStale?: (lockPath: string) => void;
}

/**
 * A lock file across processes (one download per version per host). The holder's pid is in
 * the file; a lock whose pid is dead is stale and taken over. Polling is deliberate: another
 * process is doing real work and there is nothing to be notified by.
 */
export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
  const pollMs = opts.pollMs ?? 100;
  for (;;) {
    if (tryAcquire(lockPath)) break;
    if (isStale(lockPath)) {
      opts.onStale?.(lockPath);
      takeOver(lockPath);
      continue;
    }
    if (Date.now() > deadline) throw new FleetError('DOWNLOAD_FAILED', `timed out waiting for lock ${lockPath}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockPath, { force: true });
  }
}

/**
 * Removing a stale lock is itself serialised (a `.takeover` lock file): two waiters that both saw
 * it stale would otherwise both remove "it", the second one removing the lock the first had just
 * taken, and both would hold it. Under the guard the lock is read again before it goes.
 */
function takeOver(lockPath: string): void {
  const guard = `${lockPath}.takeover`;
  if (!tryAcquire(guard)) {
    // Its holder died inside this short section: the guard is stale the same way a lock is.
    if (isStale(guard)) fs.rmSync(guard, { force: true });
    return;
  }
  try {
    if (isStale(lockPath)) fs.rmSync(lockPath, { force: true });
  } finally {
    fs.rmSync(guard, { force: true });
  }
}

function tryAcquire(lockPath: string): boolean {
  try {
    const fd = fs.openSync(lockPath, 'wx', 0o600);
    fs.writeSync(fd, String(process.pid));
    fs.closeSync(fd);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

function isStale(lockPath: string): boolean {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(lockPath, 'utf8').trim());
  } catch {
    return false; // vanished or being written; retry
  }
  if (!Number.isInteger(pid) || pid <= 0) {
    // Half-written by a holder that died between open and write: stale after a grace period.
    const age = Date.now() - (fs.statSync(lockPath, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
    return age > 5_000;
  }
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
