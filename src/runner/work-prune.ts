import { promises as fs } from 'node:fs';
import path from 'node:path';
import { dirDiskBytes } from './prepare.js';

/**
 * Empties an idle persistent runner's own `_work` (checkouts, _temp, _actions of past jobs).
 * `_work` is first renamed aside in one step: a job that starts afterwards gets a fresh one.
 * If the runner turned busy meanwhile (its job hook ran) and has not made a new `_work`, the old
 * one goes back untouched. Returns the bytes freed.
 */
export async function pruneWork(root: string, stillIdle: () => boolean | Promise<boolean>): Promise<number> {
  const work = path.join(root, '_work');
  const aside = path.join(root, `_work.pruning-${process.pid}`);
  try {
    const st = await fs.lstat(work);
    // A link could point anywhere: only the runner's own directory is pruned.
    if (!st.isDirectory()) return 0;
    await fs.rename(work, aside);
  } catch {
    return 0;
  }
  if (!(await stillIdle())) {
    const fresh = await fs.lstat(work).then(() => true, () => false);
    if (!fresh) {
      await fs.rename(aside, work);
      return 0;
    }
  }
  let bytes = 0;
  try {
    bytes = dirDiskBytes(aside);
  } catch {
    // counted as 0; still removed
  }
  await fs.rm(aside, { recursive: true, force: true });
  return bytes;
}
