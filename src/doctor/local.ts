import fs from 'node:fs';
import path from 'node:path';
import { describeError } from '../errors.js';
import { plural } from '../plural.js';
import { DB_FILE } from '../store/files.js';
import { checkInstalledTool } from '../tools/tool.js';
import { hostArch } from '../runner/arch.js';
import { fail, ok, warn, type Check, type CheckResult } from './types.js';

/** The config loaded (the CLI reports a load failure as a failed row itself). */
export const checkConfig: Check = async (ctx) => {
  const c = ctx.cfg;
  return [ok('config', `${c.source}: ${plural(c.pools.length, 'pool')}, ${plural(c.tools.length, 'tool')}, host ${c.host.name}`)];
};

export const checkDataDir: Check = async (ctx) => {
  const dir = ctx.cfg.host.dataDir;
  const name = 'data dir';
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    return [warn(name, `${dir} does not exist yet`, `the daemon creates it 0700; or: install -d -m 0700 ${dir}`)];
  }
  if (!st.isDirectory()) return [fail(name, `${dir} is not a directory`, 'point host.dataDir at a directory')];
  const mode = st.mode & 0o777;
  const uid = process.getuid?.();
  const ownedByUs = uid === undefined || st.uid === uid;
  const problems: CheckResult[] = [];
  const m = mode.toString(8).padStart(4, '0');
  if (mode & 0o022) problems.push(fail(name, `${dir} is mode ${m}: others can plant files the runners execute`, `chmod 0700 ${dir}`));
  else if (mode & 0o044 && !ownedByUs) problems.push(fail(name, `${dir} is mode ${m} and owned by uid ${st.uid}, not the service user`, `chown the data dir to the service user and chmod 0700 ${dir}`));
  // Execute-only (0711) lets non-root runners reach their own dirs without listing anything.
  else if (mode & 0o066) problems.push(warn(name, `${dir} is mode ${m}; registration tokens live here`, `chmod 0700 ${dir}`));
  const db = path.join(dir, DB_FILE);
  const dbSt = fs.statSync(db, { throwIfNoEntry: false });
  if (dbSt && dbSt.mode & 0o077) problems.push(fail(name, `${db} is mode ${(dbSt.mode & 0o777).toString(8)}`, `chmod 0600 ${db}*`));
  if (problems.length) return problems;
  return [ok(name, `${dir} (mode ${m}${ownedByUs ? ', owned by us' : ''})`)];
};

export const checkTools: Check = async (ctx) => {
  const { cfg } = ctx;
  if (cfg.tools.length === 0) return [ok('tools', 'no tools configured')];
  const arch = ctx.arch ?? hostArch();
  const out: CheckResult[] = [];
  for (const tool of cfg.tools) {
    const name = `tool ${tool.name}`;
    try {
      const { status, installed } = await checkInstalledTool(cfg.host.dataDir, tool, arch);
      if (status === 'ok') out.push(ok(name, `${tool.version} verified${installed?.versionOutput ? ` (${installed.versionOutput.split('\n')[0]})` : ''}`));
      else if (status === 'missing') out.push(warn(name, `${tool.version} not installed`, 'runner-fleet tools install (the daemon also installs at start)'));
      else out.push(fail(name, `${tool.version}: ${installed?.binPath} does not match its recorded SHA-256 (tampered?)`, 'restart the daemon or run runner-fleet tools install: it reinstalls; then find out who changed it'));
    } catch (err) {
      out.push(fail(name, describeError(err)));
    }
  }
  return out;
};
