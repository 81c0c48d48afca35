import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Mount } from '../backends/types.js';
import { isRunnerName } from '../config/names.js';
import { FleetError } from '../errors.js';
import { runnerCacheDir } from './download.js';
import { hookPaths, hookScript } from './hooks.js';

export { readJobState, hookPaths, type JobState } from './hooks.js';

/** Files and dirs the runner itself writes into its root: never symlinked into the shared cache. */
const RUNNER_WRITES = new Set([
  '.env', '.path', '.runner', '.credentials', '.credentials_rsaparams', '.service',
  '.runner_migrated', '.credentials_migrated', '.rf', '_diag', '_work', 'svc.sh', 'runsvc.sh',
  'run-helper.sh', 'update.finished', 'start.sh',
]);

export interface PrepareOptions {
  dataDir: string;
  name: string;
  version: string;
  /** Written to `.env` (KEY=VALUE lines), which the runner loads at start. Not secrets. */
  env: Record<string, string>;
  /** Written to `.path`, which becomes the runner's PATH. */
  pathDirs: string[];
  hooks?: boolean;
  /** systemd pools: the runner user owns its root. */
  uid?: number;
  gid?: number;
  /**
   * How the shared runner files reach the root. `links` (host backends): hard links to the
   * read-only cache files, which the daemon's user owns, so a job running as another user can
   * neither write nor chmod them. `mounts` (containers, where a root job could write through any
   * hard link): empty mount points only, and the cache entries come back as `mounts` to bind
   * read-only over them.
   */
  shared?: 'links' | 'mounts';
}

export interface PreparedRunner {
  root: string;
  /** `shared: 'mounts'`: cache entries to bind read-only over their mount points in the root. */
  mounts: Mount[];
}

export function runnerRoot(dataDir: string, name: string): string {
  if (!isRunnerName(name)) throw new FleetError('RUNNER_PREPARE', `invalid runner name "${name}"`);
  return path.join(dataDir, 'runners', name);
}

/**
 * A runner dir without copying (docs/runner-facts.md §6.7): symlinks into the verified cache, plus `.env`,
 * `.path` and the job hooks. Re-running it (e.g. a version roll) re-points the links.
 */
export function prepareRunnerDir(opts: PrepareOptions): PreparedRunner {
  const cache = runnerCacheDir(opts.dataDir, opts.version);
  if (!fs.existsSync(cache)) throw new FleetError('RUNNER_PREPARE', `runner ${opts.version} is not in the cache (${cache})`);
  const root = runnerRoot(opts.dataDir, opts.name);
  fs.mkdirSync(path.dirname(root), { recursive: true, mode: 0o711 });
  fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  const mounts = opts.shared === 'mounts' ? mountPoints(cache, root) : (linkCache(cache, root), []);
  const env = { ...opts.env };
  if (opts.hooks !== false) {
    const h = writeHooks(root);
    env.ACTIONS_RUNNER_HOOK_JOB_STARTED = h.started;
    env.ACTIONS_RUNNER_HOOK_JOB_COMPLETED = h.completed;
  }
  writeAtomic(path.join(root, '.env'), formatEnvFile(env), 0o600);
  writeAtomic(path.join(root, '.path'), `${opts.pathDirs.join(':')}\n`, 0o600);
  if (opts.uid !== undefined) chownTree(root, opts.uid, opts.gid ?? opts.uid);
  return { root, mounts };
}

/**
 * The runner finds its root from its own location, resolving symlinks (config.sh/run.sh walk
 * `BASH_SOURCE` links; the .NET host realpaths its executable). So every top-level file and all
 * of `bin/` are hard links inside the runner dir — same inode as the verified cache, no copy — and
 * only the large, location-independent `externals/` is a symlink.
 */
const SYMLINKED = new Set(['externals']);

const sharedEntries = (cache: string) => new Set(fs.readdirSync(cache).filter((e) => !RUNNER_WRITES.has(e)));

function linkCache(cache: string, root: string): void {
  const wanted = sharedEntries(cache);
  for (const entry of fs.readdirSync(root)) {
    const p = path.join(root, entry);
    if (wanted.has(entry) || RUNNER_WRITES.has(entry)) continue;
    // Left from an older version that the new one does not have.
    if (fs.lstatSync(p).isSymbolicLink() ? isCacheLink(p) : entry === 'bin' || entry.endsWith('.sh')) fs.rmSync(p, { recursive: true, force: true });
  }
  for (const entry of wanted) {
    const target = path.join(cache, entry);
    const link = path.join(root, entry);
    if (SYMLINKED.has(entry)) symlinkAtomic(target, link);
    else hardlinkTree(target, link);
  }
}

/**
 * Containers: each shared cache entry gets an empty mount point of its kind in the root (never a
 * link: root in a container can write through a hard link, and the runner realpaths its own
 * executable, so a symlink would make the cache its root). Whatever stands there is replaced.
 */
function mountPoints(cache: string, root: string): Mount[] {
  const mounts: Mount[] = [];
  for (const entry of fs.readdirSync(root)) {
    const p = path.join(root, entry);
    // Links an earlier layout left behind.
    if (fs.lstatSync(p).isSymbolicLink() && isCacheLink(p)) fs.rmSync(p, { force: true });
  }
  for (const entry of sharedEntries(cache)) {
    const source = path.join(cache, entry);
    const target = path.join(root, entry);
    const st = fs.lstatSync(source);
    const cur = fs.lstatSync(target, { throwIfNoEntry: false });
    if (st.isSymbolicLink()) {
      if (!cur?.isSymbolicLink() || fs.readlinkSync(target) !== fs.readlinkSync(source)) {
        fs.rmSync(target, { recursive: true, force: true });
        fs.symlinkSync(fs.readlinkSync(source), target);
      }
      continue;
    }
    if (st.isDirectory()) {
      if (!cur?.isDirectory() || fs.readdirSync(target).length > 0) {
        fs.rmSync(target, { recursive: true, force: true });
        fs.mkdirSync(target, { mode: 0o755 });
      }
    } else if (!cur?.isFile() || cur.nlink > 1 || cur.size > 0) {
      fs.rmSync(target, { recursive: true, force: true });
      fs.writeFileSync(target, '', { mode: 0o444 });
    }
    mounts.push({ source, target, readOnly: true });
  }
  return mounts;
}

function symlinkAtomic(target: string, link: string): void {
  const cur = fs.lstatSync(link, { throwIfNoEntry: false });
  if (cur?.isSymbolicLink() && fs.readlinkSync(link) === target) return;
  if (cur && !cur.isSymbolicLink()) return; // the runner made it its own (e.g. self-update); leave it
  const tmp = `${link}.rf-tmp`;
  fs.rmSync(tmp, { force: true });
  fs.symlinkSync(target, tmp);
  fs.renameSync(tmp, link);
}

/** Mirror directories, hard-link files (copy only across filesystems). Re-pointing replaces stale links. */
function hardlinkTree(src: string, dest: string): void {
  const st = fs.lstatSync(src);
  if (st.isDirectory()) {
    const cur = fs.lstatSync(dest, { throwIfNoEntry: false });
    if (cur && !cur.isDirectory()) fs.rmSync(dest, { recursive: true, force: true });
    fs.mkdirSync(dest, { recursive: true, mode: st.mode & 0o777 });
    const entries = new Set(fs.readdirSync(src));
    for (const e of fs.readdirSync(dest)) if (!entries.has(e)) fs.rmSync(path.join(dest, e), { recursive: true, force: true });
    for (const e of entries) hardlinkTree(path.join(src, e), path.join(dest, e));
    return;
  }
  const cur = fs.lstatSync(dest, { throwIfNoEntry: false });
  if (cur && cur.ino === st.ino && cur.dev === st.dev) return;
  if (cur) fs.rmSync(dest, { recursive: true, force: true });
  if (st.isSymbolicLink()) return fs.symlinkSync(fs.readlinkSync(src), dest);
  try {
    fs.linkSync(src, dest);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    fs.copyFileSync(src, dest);
  }
}

function isCacheLink(p: string): boolean {
  return fs.readlinkSync(p).includes(`${path.sep}cache${path.sep}runner${path.sep}`);
}

function writeHooks(root: string): { started: string; completed: string } {
  const h = hookPaths(root);
  fs.mkdirSync(path.dirname(h.started), { recursive: true, mode: 0o700 });
  writeAtomic(h.started, hookScript('busy'), 0o700);
  writeAtomic(h.completed, hookScript('idle'), 0o700);
  return { started: h.started, completed: h.completed };
}

/** `.env` is read line by line as KEY=VALUE with no quoting, so a newline would forge a variable. */
export function formatEnvFile(env: Record<string, string>): string {
  const lines: string[] = [];
  for (const [k, v] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new FleetError('RUNNER_PREPARE', `invalid environment variable name "${k}"`);
    if (/[\r\n\0]/.test(v)) throw new FleetError('RUNNER_PREPARE', `environment variable ${k} contains a newline`);
    lines.push(`${k}=${v}`);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

function writeAtomic(file: string, content: string, mode: number): void {
  const tmp = `${file}.rf-tmp`;
  fs.writeFileSync(tmp, content, { mode });
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
}

/**
 * Hard links share the cache's inode: chowning them would chown the cache, so they are skipped
 * (0755 is enough). Never descends through a symlink (`externals` points into the cache):
 * readdir's recursive mode walks into linked directories, which once handed the cache's
 * externals/ to the runner user.
 */
export function chownTree(dir: string, uid: number, gid: number): void {
  fs.lchownSync(dir, uid, gid);
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) chownTree(p, uid, gid);
    else if (e.isSymbolicLink()) fs.lchownSync(p, uid, gid);
    else if (fs.lstatSync(p).nlink === 1) fs.lchownSync(p, uid, gid);
  }
}

/**
 * Removes a runner dir; rm never follows symlinks, so neither the cache it links to nor anything
 * a job linked to (`_work -> /etc`) is touched. Asynchronous: a job can leave millions of files.
 */
export async function removeRunnerDir(dataDir: string, name: string): Promise<void> {
  await fs.promises.rm(runnerRoot(dataDir, name), { recursive: true, force: true, maxRetries: 2 });
}

/** Disk cost of a runner dir as the filesystem counts it (blocks), without following links. */
export function dirDiskBytes(dir: string): number {
  let total = fs.lstatSync(dir).blocks * 512;
  for (const e of fs.readdirSync(dir, { recursive: true }) as string[]) total += fs.lstatSync(path.join(dir, e)).blocks * 512;
  return total;
}

/**
 * For bench/: prepares n runners against a synthetic cache and reports per-runner cost.
 * Budget (DESIGN): ≤ 50 ms and ≤ 1 MB per runner.
 */
export function benchPrepare(n: number, opts: { dataDir?: string; version?: string } = {}): { n: number; msPerRunner: number; bytesPerRunner: number } {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'rf-bench-prepare-'));
  const version = opts.version ?? '0.0.0-bench';
  const cache = runnerCacheDir(dataDir, version);
  if (!fs.existsSync(cache)) fakeRunnerLayout(cache);
  const env = { RUNNER_TOOL_CACHE: path.join(dataDir, 'tools'), HTTPS_PROXY: 'http://proxy:3128' };
  const pathDirs = ['/usr/local/bin', '/usr/bin', '/bin'];
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) prepareRunnerDir({ dataDir, name: `bench-${i}`, version, env, pathDirs });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  let bytes = 0;
  for (let i = 0; i < n; i++) bytes += dirDiskBytes(runnerRoot(dataDir, `bench-${i}`));
  if (!opts.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  return { n, msPerRunner: ms / n, bytesPerRunner: bytes / n };
}

function fakeRunnerLayout(cache: string): void {
  for (const d of ['bin', 'externals']) fs.mkdirSync(path.join(cache, d), { recursive: true });
  for (const f of ['config.sh', 'run.sh', 'env.sh', 'safe_sleep.sh', 'run-helper.sh.template', 'run-helper.cmd.template']) {
    fs.writeFileSync(path.join(cache, f), '#!/bin/bash\n', { mode: 0o755 });
  }
}
