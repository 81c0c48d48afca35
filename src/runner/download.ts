import fs from 'node:fs';
import path from 'node:path';
import type { FleetConfig, Scope } from '../config/types.js';
import { FleetError, diskFullError } from '../errors.js';
import type { RunnerDownload, RunnerService } from '../github/types.js';
import type { Logger } from '../log.js';
import { downloadVerified, redactUrl, type Progress } from '../net/download.js';
import { ensureDataDir } from '../store/files.js';
import type { Store } from '../store/types.js';
import { expandTemplate, hostArch, type RunnerArch } from './arch.js';
import { withFileLock } from './lock.js';
import { removeStaging, tmpName } from './tmp.js';
import { checkCacheDir, manifestPath, sealCacheDir } from './manifest.js';

export interface RunnerRelease {
  version: string;
  url: string;
  sha256: string;
  filename: string;
  /** runners/downloads may hand out a bearer token for the download URL. */
  headers?: Record<string, string>;
}

const RELEASE_URL = 'https://github.com/actions/runner/releases/download/v{version}/actions-runner-{os}-{arch}-{version}.tar.gz';

/** Where a runner version comes from: `latest` / pinned via runners/downloads, a mirror template, or the release URL. */
export async function resolveRunnerRelease(
  cfg: Pick<FleetConfig, 'runner'>,
  service: Pick<RunnerService, 'downloads'>,
  scope: Scope,
  arch: RunnerArch = hostArch(),
): Promise<RunnerRelease> {
  const { version, url, sha256 } = cfg.runner;
  if (version !== 'latest' && url) {
    if (!sha256) throw new FleetError('VERSION_UNKNOWN', `runner.url is set for ${version} but runner.sha256 is not; refusing an unverified download`);
    const full = expandTemplate(url, { version, arch });
    return { version, url: full, sha256: sha256.toLowerCase(), filename: basename(full) };
  }
  const entry = pickDownload(await service.downloads(scope), arch);
  const offered = entry ? versionOf(entry.filename) : null;
  if (version === 'latest') {
    if (!entry || !offered) throw new FleetError('VERSION_UNKNOWN', `runners/downloads offers no linux-${arch} runner`);
    if (!entry.sha256) throw new FleetError('VERSION_UNKNOWN', `runners/downloads gives no sha256 for ${entry.filename}; refusing an unverified download`);
    return fromEntry(entry, offered);
  }
  if (entry && offered === version && (entry.sha256 || sha256)) {
    return fromEntry(entry, version, sha256);
  }
  if (!sha256) {
    throw new FleetError(
      'VERSION_UNKNOWN',
      `runner ${version} is not what runners/downloads offers (${offered ?? 'nothing'}); set runner.sha256 (from the release notes) or runner.url + runner.sha256 for a mirror`,
    );
  }
  const full = expandTemplate(RELEASE_URL, { version, arch });
  return { version, url: full, sha256: sha256.toLowerCase(), filename: basename(full) };
}

function pickDownload(list: RunnerDownload[], arch: RunnerArch): RunnerDownload | undefined {
  return list.find((d) => d.os === 'linux' && d.architecture === arch);
}

function fromEntry(entry: RunnerDownload, version: string, pinnedSha?: string): RunnerRelease {
  const rel: RunnerRelease = {
    version,
    url: entry.downloadUrl,
    sha256: (pinnedSha ?? entry.sha256 ?? '').toLowerCase(),
    filename: entry.filename,
  };
  if (entry.tempDownloadToken) rel.headers = { authorization: `Bearer ${entry.tempDownloadToken}` };
  return rel;
}

/** `actions-runner-linux-x64-2.330.0.tar.gz` → `2.330.0` */
export function versionOf(filename: string): string | null {
  return /-(\d+\.\d+\.\d+)\.(?:tar\.gz|zip)$/.exec(filename)?.[1] ?? null;
}

function basename(url: string): string {
  return path.posix.basename(new URL(url).pathname);
}

export function runnerCacheDir(dataDir: string, version: string): string {
  return path.join(dataDir, 'cache', 'runner', version);
}

export interface EnsureCachedOptions {
  dataDir: string;
  version: string;
  url: string;
  sha256: string;
  fetch: typeof fetch;
  store?: Pick<Store, 'versions'>;
  headers?: Record<string, string>;
  onProgress?: (p: Progress) => void;
  logger?: Logger;
  now?: () => number;
}

export interface CachedRunner {
  version: string;
  path: string;
  sha256: string;
  /** false when it was already there (no network). */
  downloaded: boolean;
}

/**
 * One verified download per version per host (docs/runner-facts.md §6.7, §6.10): single flight
 * within its owner (the daemon's RunnerVersions keeps one), a lock file across processes, hash
 * while streaming, extract to a temp dir, rename into place.
 */
export class RunnerCache {
  /** Keyed by the final cache path, so data dirs never collide. */
  readonly #inflight = new Map<string, Promise<CachedRunner>>();

  ensure(opts: EnsureCachedOptions): Promise<CachedRunner> {
    if (!/^[0-9A-Za-z.+-]+$/.test(opts.version)) throw new FleetError('VERSION_UNKNOWN', `invalid runner version "${opts.version}"`);
    const final = runnerCacheDir(opts.dataDir, opts.version);
    const running = this.#inflight.get(final);
    if (running) return running;
    const p = doEnsure(opts, final).finally(() => this.#inflight.delete(final));
    this.#inflight.set(final, p);
    return p;
  }
}

/** A one-off caller (a CLI command): the lock file still keeps processes from racing. */
export function ensureRunnerCached(opts: EnsureCachedOptions, cache = new RunnerCache()): Promise<CachedRunner> {
  return cache.ensure(opts);
}

async function doEnsure(opts: EnsureCachedOptions, final: string): Promise<CachedRunner> {
  const hit = await cachedHit(opts, final);
  if (hit) return hit;
  const cacheRoot = path.dirname(final);
  ensureDataDir(opts.dataDir);
  await fs.promises.mkdir(cacheRoot, { recursive: true, mode: 0o755 });
  return withFileLock(path.join(cacheRoot, `.${opts.version}.lock`), async () => {
    const again = await cachedHit(opts, final); // another process finished while we waited
    if (again) return again;
    return downloadAndExtract(opts, final);
  });
}

async function cachedHit(opts: EnsureCachedOptions, final: string): Promise<CachedRunner | null> {
  if ((await verifyCachedRunner(opts, final)) !== 'ok') return null;
  const row = opts.store?.versions.get(opts.version);
  const sha256 = row?.sha256 ?? opts.sha256.toLowerCase();
  if (!row) opts.store?.versions.put({ version: opts.version, sha256, path: final, fetchedAt: (opts.now ?? Date.now)() });
  return { version: opts.version, path: final, sha256, downloaded: false };
}

async function downloadAndExtract(opts: EnsureCachedOptions, final: string): Promise<CachedRunner> {
  const cacheRoot = path.dirname(final);
  const tmpBase = path.join(cacheRoot, tmpName(opts.version));
  const tarball = `${tmpBase}.tar.gz`;
  const tmpDir = `${tmpBase}.d`;
  opts.logger?.info({ version: opts.version, url: redactUrl(opts.url) }, 'downloading runner');
  try {
    const dl = { url: opts.url, dest: tarball, fetch: opts.fetch, sha256: opts.sha256, label: `runner ${opts.version}` };
    const { bytes } = await downloadVerified({
      ...dl,
      ...(opts.headers ? { headers: opts.headers } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
    await fs.promises.mkdir(tmpDir, { mode: 0o755 });
    await extractRunner(tarball, tmpDir);
    // Read-only for everyone and hashed file by file before any runner can see it.
    await sealCacheDir(tmpDir, opts.version);
    await fs.promises.rename(manifestPath(tmpDir), manifestPath(final));
    await fs.promises.rename(tmpDir, final);
    opts.store?.versions.put({ version: opts.version, sha256: opts.sha256.toLowerCase(), path: final, fetchedAt: (opts.now ?? Date.now)() });
    opts.logger?.info({ version: opts.version, bytes }, 'runner verified and cached');
    return { version: opts.version, path: final, sha256: opts.sha256.toLowerCase(), downloaded: true };
  } catch (err) {
    await removeStaging(tmpDir);
    await removeStaging(manifestPath(tmpDir));
    const full = diskFullError(err, `runner ${opts.version}`);
    if (full) throw full;
    if (err instanceof FleetError) throw err;
    throw new FleetError('DOWNLOAD_FAILED', `runner ${opts.version}: could not unpack`, { cause: err });
  } finally {
    await removeStaging(tarball);
  }
}

/**
 * strict: node-tar otherwise turns a failed write (ENOSPC, EIO) into a warning and resolves, and
 * a truncated tree would be renamed into place as verified. setuid/setgid bits are dropped: a
 * runner needs none, and the cache is shared by every runner on the host.
 */
export async function extractRunner(tarball: string, dir: string): Promise<void> {
  // Imported when used: a daemon whose runner version is cached never extracts.
  const tar = await import('tar');
  await tar.x({
    file: tarball,
    cwd: dir,
    preserveOwner: false,
    strict: true,
    filter: (_p, entry) => {
      if ('mode' in entry && typeof entry.mode === 'number') (entry as { mode: number }).mode &= ~0o6000;
      return true;
    },
  });
}

/** Resolve + cache in one go; a pinned version already cached needs no network at all. */
export async function ensureConfiguredRunner(opts: {
  cfg: Pick<FleetConfig, 'runner' | 'host'>;
  service: Pick<RunnerService, 'downloads'>;
  scope: Scope;
  fetch: typeof fetch;
  store?: Pick<Store, 'versions'>;
  onProgress?: (p: Progress) => void;
  logger?: Logger;
  cache?: RunnerCache;
}): Promise<CachedRunner> {
  const { cfg } = opts;
  const cache = opts.cache ?? new RunnerCache();
  const dataDir = cfg.host.dataDir;
  const pinned = cfg.runner.version;
  const cachedPin = pinned !== 'latest' && (await verifyCachedRunner({ dataDir, version: pinned, ...rest(opts) }, runnerCacheDir(dataDir, pinned))) === 'ok';
  if (cachedPin) {
    return cache.ensure({ dataDir, version: pinned, url: '', sha256: cfg.runner.sha256 ?? opts.store?.versions.get(pinned)?.sha256 ?? '', fetch: opts.fetch, ...rest(opts) });
  }
  const rel = await resolveRunnerRelease(cfg, opts.service, opts.scope);
  return cache.ensure({
    dataDir,
    version: rel.version,
    url: rel.url,
    sha256: rel.sha256,
    fetch: opts.fetch,
    ...(rel.headers ? { headers: rel.headers } : {}),
    ...rest(opts),
  });
}

function rest(opts: { store?: Pick<Store, 'versions'>; onProgress?: (p: Progress) => void; logger?: Logger }) {
  return {
    ...(opts.store ? { store: opts.store } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
  };
}

/**
 * Before a cached version is used (again): it must still match the manifest written when it was
 * verified. A mismatch (or no manifest) is RUNNER_TAMPERED: the version is moved aside to
 * cache/runner/.quarantine/ (kept for inspection; runners already running keep their files) and
 * the caller downloads it again.
 */
export async function verifyCachedRunner(
  opts: { dataDir: string; version: string; store?: Pick<Store, 'versions'>; logger?: Logger; now?: () => number },
  final = runnerCacheDir(opts.dataDir, opts.version),
): Promise<'ok' | 'missing' | 'quarantined'> {
  if (!fs.existsSync(final)) return 'missing';
  const check = await checkCacheDir(final);
  if (check.ok) return 'ok';
  const stamp = (opts.now ?? Date.now)();
  const dest = path.join(path.dirname(final), '.quarantine', `${opts.version}-${stamp}`);
  await fs.promises.mkdir(path.dirname(dest), { recursive: true, mode: 0o700 });
  await fs.promises.rename(final, dest);
  await fs.promises.rename(manifestPath(final), manifestPath(dest)).catch(() => undefined);
  const err = new FleetError('RUNNER_TAMPERED', `runner ${opts.version} in the cache no longer matches its manifest (${check.reason}); quarantined in ${dest}, downloading it again`);
  const events = (opts.store as { events?: Store['events'] } | undefined)?.events;
  events?.append({ kind: 'RUNNER_TAMPERED', runner: null, pool: null, data: { version: opts.version, reason: check.reason, quarantine: dest } });
  opts.logger?.error({ event: 'RUNNER_TAMPERED', code: err.code, version: opts.version, reason: check.reason, quarantine: dest }, err.message);
  return 'quarantined';
}
