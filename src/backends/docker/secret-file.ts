import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { RunnerSpec } from '../types.js';
import { renderSecretFile, secretFile } from './spec.js';

/**
 * The secrets for the start wrapper: 0600, owned like the runner root (the container user reads
 * it there and deletes it before the runner starts). Written fresh on every create.
 */
export async function writeSecretFile(spec: RunnerSpec): Promise<void> {
  const file = secretFile(spec);
  const st = await fs.stat(spec.root);
  const dir = path.dirname(file);
  // The root is the job's: a link planted in place of .rf must not carry the file elsewhere.
  const cur = await fs.lstat(dir).catch(() => undefined);
  if (cur && !cur.isDirectory()) await fs.rm(dir, { force: true });
  if (!cur?.isDirectory()) {
    await fs.mkdir(dir, { mode: 0o700 });
    await fs.chown(dir, st.uid, st.gid);
  }
  const tmp = `${file}.tmp`;
  await fs.rm(tmp, { force: true });
  await fs.writeFile(tmp, renderSecretFile(spec.secretEnv), { mode: 0o600, flag: 'wx' });
  await fs.chown(tmp, st.uid, st.gid);
  await fs.rename(tmp, file);
}
