/**
 * Per-runner prepare time and disk. Two measurements:
 *   - `benchPrepare` (src/runner/prepare.ts): the minimal synthetic cache it builds itself;
 *   - a runner-like cache: bin/ with hundreds of files in sub-directories (the real runner's
 *     bin/ is hard-linked file by file, so its file count is what costs time) and a large
 *     externals/ (symlinked, so its size costs nothing).
 * Disk is what a runner dir adds to the filesystem: blocks of inodes that are not the cache's
 * own (hard links to the cache are free), plus directories and the files written per runner.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runnerCacheDir } from '../src/runner/download.js';
import { benchPrepare, prepareRunnerDir, runnerRoot } from '../src/runner/prepare.js';
import { errText, round, type ScenarioResult } from './lib.js';

const VERSION = '2.330.0';
const BIN_DIRS = 12;
const BIN_FILES = 420;

function runnerLikeCache(dataDir: string): { files: number; bytes: number } {
  const cache = runnerCacheDir(dataDir, VERSION);
  let files = 0;
  let bytes = 0;
  const write = (p: string, size: number, mode = 0o644) => {
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, Buffer.alloc(size, 1), { mode });
    files++;
    bytes += size;
  };
  for (let i = 0; i < BIN_FILES; i++) {
    const sub = i % 3 === 0 ? `locale${i % BIN_DIRS}/` : '';
    write(path.join(cache, 'bin', `${sub}Lib.${i}.dll`), 16 * 1024 + (i % 7) * 8192);
  }
  write(path.join(cache, 'bin', 'Runner.Listener'), 64 * 1024, 0o755);
  for (const f of ['config.sh', 'run.sh', 'env.sh', 'safe_sleep.sh', 'run-helper.sh.template', 'run-helper.cmd.template']) {
    write(path.join(cache, f), 2048, 0o755);
  }
  for (let i = 0; i < 50; i++) write(path.join(cache, 'externals', 'node20', 'lib', `m${i}.js`), 256 * 1024);
  return { files, bytes };
}

function inodes(dir: string): Set<string> {
  const out = new Set<string>();
  for (const e of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const st = fs.lstatSync(path.join(dir, e));
    out.add(`${st.dev}:${st.ino}`);
  }
  return out;
}

/** Bytes a runner dir adds: every inode of it that the cache does not already own, counted once. */
function addedBytes(root: string, cacheInodes: Set<string>): number {
  const seen = new Set<string>();
  let total = fs.lstatSync(root).blocks * 512;
  for (const e of fs.readdirSync(root, { recursive: true }) as string[]) {
    const st = fs.lstatSync(path.join(root, e));
    const key = `${st.dev}:${st.ino}`;
    if (cacheInodes.has(key) || seen.has(key)) continue;
    seen.add(key);
    total += st.blocks * 512;
  }
  return total;
}

function runnerLike(n: number, shared: 'links' | 'mounts' = 'links') {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-bench-prepare-'));
  try {
    const cache = runnerLikeCache(dataDir);
    const cacheInodes = inodes(runnerCacheDir(dataDir, VERSION));
    const env = { RUNNER_TOOL_CACHE: path.join(dataDir, 'tools'), HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: '.internal' };
    const pathDirs = [path.join(dataDir, 'tools', 'argocd', 'v2.13.3', 'x64'), '/usr/local/bin', '/usr/bin', '/bin'];
    prepareRunnerDir({ dataDir, name: 'warmup', version: VERSION, env, pathDirs, shared });
    const samples: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      prepareRunnerDir({ dataDir, name: `h1-cd-${i.toString(36).padStart(8, '0')}`, version: VERSION, env, pathDirs, shared });
      samples.push(performance.now() - t);
    }
    let bytes = 0;
    for (let i = 0; i < n; i++) bytes += addedBytes(runnerRoot(dataDir, `h1-cd-${i.toString(36).padStart(8, '0')}`), cacheInodes);
    samples.sort((a, b) => a - b);
    return {
      cacheFiles: cache.files,
      cacheBytes: cache.bytes,
      msPerRunner: samples.reduce((a, b) => a + b, 0) / n,
      p95Ms: samples[Math.ceil(0.95 * n) - 1]!,
      bytesPerRunner: bytes / n,
    };
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function prepareBench(opts: { runners: number; targetMs: number; targetBytes: number }): Promise<ScenarioResult> {
  const t0 = Date.now();
  const res: ScenarioResult = { name: 'prepare', figures: [], notes: [], seconds: 0, detail: {} };
  try {
    const b = benchPrepare(opts.runners);
    res.figures.push(
      { key: 'prepare.minimal.ms_per_runner', label: 'prepare: runner dir, minimal cache (benchPrepare)', value: round(b.msPerRunner, 2), unit: 'ms', target: opts.targetMs, note: `${b.n} runners` },
      { key: 'prepare.minimal.bytes_per_runner', label: 'prepare: disk per runner, minimal cache', value: Math.round(b.bytesPerRunner), unit: 'bytes', target: opts.targetBytes },
    );
    res.detail!.minimal = b;
  } catch (err) {
    res.notes.push(`benchPrepare failed: ${errText(err)}`);
  }
  try {
    const r = runnerLike(opts.runners);
    res.figures.push(
      {
        key: 'prepare.runner_like.ms_per_runner', label: `prepare: runner dir, runner-like cache (${r.cacheFiles} files)`, value: round(r.msPerRunner, 2), unit: 'ms', target: opts.targetMs,
        note: `${opts.runners} runners; bin/ hard-linked file by file, externals/ one symlink; p95 ${round(r.p95Ms, 2)} ms; cache ${round(r.cacheBytes / 1048576, 1)} MiB`,
      },
      { key: 'prepare.runner_like.bytes_per_runner', label: 'prepare: disk added per runner, runner-like cache', value: Math.round(r.bytesPerRunner), unit: 'bytes', target: opts.targetBytes },
    );
    res.detail!.runnerLike = r;
  } catch (err) {
    res.notes.push(`runner-like prepare failed: ${errText(err)}`);
  }
  try {
    // Docker: empty mount points, the cache entries bound read-only over them by the engine.
    const m = runnerLike(opts.runners, 'mounts');
    res.figures.push(
      {
        key: 'prepare.docker_mounts.ms_per_runner', label: 'prepare: Docker runner dir (mount points), runner-like cache', value: round(m.msPerRunner, 2), unit: 'ms', target: opts.targetMs,
        note: `${opts.runners} runners; no links, one read-only mount per top-level cache entry; p95 ${round(m.p95Ms, 2)} ms`,
      },
      { key: 'prepare.docker_mounts.bytes_per_runner', label: 'prepare: disk added per Docker runner', value: Math.round(m.bytesPerRunner), unit: 'bytes', target: opts.targetBytes },
    );
    res.detail!.dockerMounts = m;
  } catch (err) {
    res.notes.push(`Docker-layout prepare failed: ${errText(err)}`);
  }
  res.seconds = (Date.now() - t0) / 1000;
  return res;
}
