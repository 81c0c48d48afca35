import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';

/** A fresh directory under the OS temp dir, removed when the test ends (pass or fail). */
export async function tempDir(t: Pick<ExecutionContext, 'teardown'>, prefix = 'rf-test-'): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  // Retried: a container a test keeps until a later teardown may still write into a bind mount
  // under dir while it is removed (ENOTEMPTY).
  t.teardown(() => fs.rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }));
  return dir;
}
