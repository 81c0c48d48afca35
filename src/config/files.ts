import fs from 'node:fs';
import type { Report } from './checks.js';
import type { Path } from './positions.js';
import { resolvePath } from './secrets.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);

/**
 * Files the config names but reads later (caFile at every HTTP client, secretEnv at every runner
 * start): a missing one is a config error now, at its line, not a pool backing off with
 * RUNNER_PREPARE an hour later. Only existence is checked: the daemon's user may read what the
 * operator running `validate` may not. (`*File` secrets are read at load, see secrets.ts.)
 */
export function checkNamedFiles(raw: unknown, baseDir: string, report: Report): void {
  const root = obj(raw);
  if (!root) return;
  checkFile(obj(root.network)?.caFile, ['network', 'caFile'], baseDir, report);
  const pools = Array.isArray(root.pools) ? root.pools : [];
  pools.forEach((p, i) => {
    const pool = obj(p);
    checkFile(obj(pool?.network)?.caFile, ['pools', i, 'network', 'caFile'], baseDir, report);
    for (const [name, file] of Object.entries(obj(pool?.secretEnv) ?? {})) checkFile(file, ['pools', i, 'secretEnv', name], baseDir, report);
  });
}

function checkFile(value: unknown, at: Path, baseDir: string, report: Report): void {
  if (typeof value !== 'string' || value === '') return;
  const full = resolvePath(baseDir, value);
  let st: fs.Stats;
  try {
    st = fs.statSync(full);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES') return; // cannot tell from here; doctor run as the service user can
    report(at, code === 'ENOENT' ? `file ${full} does not exist` : `cannot stat ${full} (${code ?? 'error'})`);
    return;
  }
  if (!st.isFile()) report(at, `${full} is not a regular file`);
}
