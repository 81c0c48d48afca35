import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';

/**
 * A full disk, for real: a small tmpfs (root only), unmounted and removed at teardown.
 * Fails the test (undefined) when not root.
 */
export function smallTmpfs(t: ExecutionContext, sizeKb: number): string | undefined {
  if (process.getuid?.() !== 0) {
    t.fail('needs root to mount a tmpfs (run the tests as root, as the README says)');
    return undefined;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k,mode=0700`, 'tmpfs', dir]);
  t.teardown(() => {
    execFileSync('umount', ['-l', dir]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}
