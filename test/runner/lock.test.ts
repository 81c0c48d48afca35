import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { withFileLock } from '../../src/runner/lock.js';
import { tempDir } from './util.js';

const deadPid = () => spawnSync('true').pid!;

test('a stale download lock is taken over by one waiter only: a faster waiter that took it over first keeps it', async (t) => {
  const dir = await tempDir(t, 'rf-lock-');
  const lock = path.join(dir, '.2.330.0.lock');
  fs.writeFileSync(lock, String(deadPid())); // the holder died without removing it
  // The other waiter, alive in its own process.
  const other = spawn('sleep', ['60']);
  t.teardown(() => void other.kill());
  let otherReleased = false;
  let enteredWhileOtherHeld = false;

  await withFileLock(
    lock,
    async () => {
      enteredWhileOtherHeld = !otherReleased;
    },
    {
      pollMs: 10,
      // Between seeing the stale lock and taking it over, the other waiter does the same, faster:
      // it removes the stale file and writes its own. Ours must now wait for it, not delete it.
      onStale: () => {
        if (otherReleased || fs.readFileSync(lock, 'utf8') === String(other.pid)) return;
        fs.rmSync(lock);
        fs.writeFileSync(lock, String(other.pid));
        setTimeout(() => {
          t.is(fs.readFileSync(lock, 'utf8'), String(other.pid), "the other waiter's lock was taken from it");
          otherReleased = true;
          fs.rmSync(lock);
        }, 300);
      },
    },
  );
  t.false(enteredWhileOtherHeld, 'two holders at once');
  t.false(fs.existsSync(lock));
});
