import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toolArch as toolArchOf } from '../config/names.js';
import type { FleetConfig, ToolConfig } from '../config/types.js';
import { FleetError, describeError, diskFullError } from '../errors.js';
import type { Logger } from '../log.js';
import { downloadVerified, redactUrl, sha256File, type Progress } from '../net/download.js';
import { expandTemplate, hostArch } from '../runner/arch.js';
import { withFileLock } from '../runner/lock.js';
import { removeStaging, tmpFile, tmpName } from '../runner/tmp.js';
import { ensureDataDir } from '../store/files.js';
import type { Store } from '../store/types.js';
import { archiveKind, extractBinary } from './archive.js';
import type { InstalledTool } from './types.js';

export interface ToolInstallOptions {
  dataDir: string;
  fetch: typeof fetch;
  store?: Pick<Store, 'tools'>;
  logger?: Logger;
  onProgress?: (p: Progress) => void;
  /** Our arch name (x64/arm64/arm); default the host's. */
  arch?: string;
  versionTimeoutMs?: number;
  now?: () => number;
  /** Reinstall even when present and verified (tamper repair). */
  force?: boolean;
  /** Installs the caller hashed moments ago and found intact: not hashed again. */
  verified?: readonly InstalledTool[];
}

/** What `{arch}.complete` holds (actions/tool-cache leaves it empty; we keep the hashes in it). */
interface Marker {
  sha256: string;
  artifactSha256: string;
  versionOutput: string | null;
  installedAt: number;
}

export function toolPaths(dataDir: string, tool: Pick<ToolConfig, 'name' | 'version'>, arch: string) {
  if (!/^[A-Za-z0-9._-]+$/.test(tool.name) || !/^[A-Za-z0-9._+-]+$/.test(tool.version)) {
    throw new FleetError('TOOL_INSTALL', `invalid tool name/version ${tool.name}@${tool.version}`);
  }
  const versionDir = path.join(dataDir, 'tools', tool.name, tool.version);
  const dir = path.join(versionDir, arch);
  return { versionDir, dir, marker: `${dir}.complete`, binPath: path.join(dir, tool.name) };
}

/** Present + marked complete, from the marker alone (cheap: for building runner envs). */
export function readInstalledTool(dataDir: string, tool: Pick<ToolConfig, 'name' | 'version'>, arch: string = hostArch()): InstalledTool | null {
  const p = toolPaths(dataDir, tool, arch);
  let m: Marker;
  try {
    m = JSON.parse(fs.readFileSync(p.marker, 'utf8')) as Marker;
  } catch {
    return null;
  }
  if (!fs.existsSync(p.binPath) || typeof m.sha256 !== 'string') return null;
  return { name: tool.name, version: tool.version, arch, dir: p.dir, binPath: p.binPath, sha256: m.sha256, versionOutput: m.versionOutput ?? null };
}

export function listInstalledTools(cfg: Pick<FleetConfig, 'host' | 'tools'>, arch: string = hostArch()): InstalledTool[] {
  return cfg.tools.map((t) => readInstalledTool(cfg.host.dataDir, t, arch)).filter((t): t is InstalledTool => t !== null);
}

/** 'ok' only when the executable on disk still hashes to what was installed. */
export async function checkInstalledTool(dataDir: string, tool: ToolConfig, arch: string = hostArch()): Promise<{ status: 'ok' | 'missing' | 'tampered'; installed: InstalledTool | null }> {
  const installed = readInstalledTool(dataDir, tool, arch);
  if (!installed) return { status: 'missing', installed: null };
  const actual = await sha256File(installed.binPath).catch(() => '');
  return { status: actual === installed.sha256 ? 'ok' : 'tampered', installed };
}

export async function installTool(tool: ToolConfig, opts: ToolInstallOptions): Promise<InstalledTool> {
  const arch = opts.arch ?? hostArch();
  const p = toolPaths(opts.dataDir, tool, arch);
  const lockDir = path.join(opts.dataDir, 'tools', '.locks');
  ensureDataDir(opts.dataDir);
  await fs.promises.mkdir(lockDir, { recursive: true, mode: 0o755 });
  return withFileLock(path.join(lockDir, `${tool.name}-${tool.version}-${arch}.lock`), async () => {
    if (!opts.force) {
      const present = await upToDate(opts.dataDir, tool, arch, opts.verified);
      if (present) {
        record(opts, present);
        linkCleanVersion(opts.dataDir, tool);
        return { ...present, downloaded: false };
      }
    }
    const installed = await download(tool, arch, p, opts);
    record(opts, installed);
    linkCleanVersion(opts.dataDir, tool);
    return { ...installed, downloaded: true };
  });
}

async function upToDate(dataDir: string, tool: ToolConfig, arch: string, verified?: readonly InstalledTool[]): Promise<InstalledTool | null> {
  // A hash taken moments ago stands while the marker (read under the lock) still records it.
  const hashed = verified?.find((v) => v.name === tool.name && v.version === tool.version && v.arch === arch);
  const installed = hashed && readInstalledTool(dataDir, tool, arch)?.sha256 === hashed.sha256 ? hashed : await intact(dataDir, tool, arch);
  if (!installed) return null;
  // A changed pinned sha256 in the config means a different artifact: install again.
  const marker = JSON.parse(fs.readFileSync(toolPaths(dataDir, tool, arch).marker, 'utf8')) as Marker;
  if (tool.sha256 && marker.artifactSha256 !== tool.sha256.toLowerCase()) return null;
  return installed;
}

async function intact(dataDir: string, tool: ToolConfig, arch: string): Promise<InstalledTool | null> {
  const { status, installed } = await checkInstalledTool(dataDir, tool, arch);
  return status === 'ok' ? installed : null;
}

async function download(tool: ToolConfig, arch: string, p: ReturnType<typeof toolPaths>, opts: ToolInstallOptions): Promise<InstalledTool> {
  const toolArch = toolArchOf(tool, arch);
  const url = expandTemplate(tool.url, { version: tool.version, arch: toolArch });
  const expected = tool.sha256?.toLowerCase() ?? (await checksumFromUrl(tool, url, toolArch, opts.fetch));
  await fs.promises.mkdir(p.versionDir, { recursive: true, mode: 0o755 });
  const tmp = path.join(p.versionDir, tmpName(arch));
  const staged = path.join(tmp, 'dir');
  await fs.promises.mkdir(staged, { recursive: true, mode: 0o755 });
  opts.logger?.info({ tool: tool.name, version: tool.version, url: redactUrl(url) }, 'installing tool');
  try {
    const artifact = path.join(tmp, 'artifact');
    const dl = { url, dest: artifact, fetch: opts.fetch, sha256: expected, label: tool.name };
    await downloadVerified(opts.onProgress ? { ...dl, onProgress: opts.onProgress } : dl);
    const bin = path.join(staged, tool.name);
    const kind = archiveKind(tool.archive, url);
    if (kind === 'none') await fs.promises.rename(artifact, bin);
    else await extractBinary(kind, artifact, expandTemplate(tool.binary ?? tool.name, { version: tool.version, arch: toolArch }), bin, tool.name);
    await fs.promises.chmod(bin, 0o755);
    const sha256 = await sha256File(bin);
    const versionOutput = tool.versionCommand?.length ? await runVersion(bin, tool.versionCommand, opts) : null;
    await swapInto(staged, p.dir, tmp);
    const marker: Marker = { sha256, artifactSha256: expected, versionOutput, installedAt: (opts.now ?? Date.now)() };
    writeAtomic(p.marker, `${JSON.stringify(marker)}\n`);
    return { name: tool.name, version: tool.version, arch, dir: p.dir, binPath: p.binPath, sha256, versionOutput };
  } catch (err) {
    const full = diskFullError(err, `${tool.name} ${tool.version}`);
    if (full) throw full;
    if (err instanceof FleetError) throw err;
    throw new FleetError('TOOL_INSTALL', `${tool.name} ${tool.version}: install failed`, { cause: err });
  } finally {
    await removeStaging(tmp);
  }
}

/** Replace {arch}/ in one rename; an old copy (tampered or stale) is moved aside first. */
async function swapInto(staged: string, dir: string, tmp: string): Promise<void> {
  await fs.promises.rm(`${dir}.complete`, { force: true });
  if (fs.existsSync(dir)) await fs.promises.rename(dir, path.join(tmp, 'old'));
  await fs.promises.rename(staged, dir);
}

function writeAtomic(file: string, content: string): void {
  const tmp = tmpFile(file);
  fs.writeFileSync(tmp, content, { mode: 0o644 });
  fs.renameSync(tmp, file);
}

/** `sha256sum` format: `<hex>  <file>` (or ` *<file>` for binary mode). */
async function checksumFromUrl(tool: ToolConfig, url: string, toolArch: string, doFetch: typeof fetch): Promise<string> {
  if (!tool.checksumUrl) throw new FleetError('TOOL_INSTALL', `${tool.name}: neither sha256 nor checksumUrl is set`);
  const sumsUrl = expandTemplate(tool.checksumUrl, { version: tool.version, arch: toolArch });
  let text: string;
  try {
    const res = await doFetch(sumsUrl);
    if (!res.ok) throw new Error(`status ${res.status}`);
    text = await res.text();
  } catch (err) {
    throw new FleetError('DOWNLOAD_FAILED', `${tool.name}: cannot fetch ${redactUrl(sumsUrl)}`, { cause: err });
  }
  const file = path.posix.basename(new URL(url).pathname);
  const lines = text.split('\n').map((l) => /^([0-9a-fA-F]{64})(?:\s+\*?(.+?))?\s*$/.exec(l.trim())).filter((m) => m !== null);
  const hit = lines.find((m) => m[2] !== undefined && path.posix.basename(m[2].replace(/^\.\//, '')) === file);
  const only = lines.length === 1 && lines[0]?.[2] === undefined ? lines[0] : undefined;
  const hex = (hit ?? only)?.[1];
  if (!hex) throw new FleetError('TOOL_INSTALL', `${tool.name}: ${redactUrl(sumsUrl)} lists no checksum for ${file}`);
  return hex.toLowerCase();
}

/** The kernel's overflow id (Debian's nobody/nogroup): owns nothing of ours. */
const UNPRIVILEGED = 65534;

/**
 * A freshly downloaded tool is untrusted until it has run: as root, its version command runs as
 * nobody, from a private copy in a scratch dir, with nothing of the data dir reachable.
 */
async function runVersion(bin: string, args: string[], opts: ToolInstallOptions): Promise<string | null> {
  if (process.getuid?.() !== 0) return execVersion(bin, args, opts, path.dirname(bin));
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'rf-version-'));
  try {
    const copy = path.join(dir, path.basename(bin));
    await fs.promises.copyFile(bin, copy);
    await fs.promises.chmod(copy, 0o755);
    await fs.promises.chown(dir, UNPRIVILEGED, UNPRIVILEGED);
    return await execVersion(copy, args, opts, dir, { uid: UNPRIVILEGED, gid: UNPRIVILEGED });
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}

function execVersion(bin: string, args: string[], opts: ToolInstallOptions, home: string, ids?: { uid: number; gid: number }): Promise<string | null> {
  const env = { PATH: `${path.dirname(bin)}:/usr/local/bin:/usr/bin:/bin`, HOME: home };
  return new Promise((resolve) => {
    execFile(bin, args, { timeout: opts.versionTimeoutMs ?? 10_000, env, cwd: home, maxBuffer: 256 * 1024, ...ids }, (err, stdout, stderr) => {
      const out = `${stdout}${stderr}`.trim().slice(0, 2000);
      if (err) {
        opts.logger?.warn({ bin, err: describeError(err) }, 'tool version command failed');
        return resolve(out || null);
      }
      resolve(out);
    });
  });
}

function record(opts: ToolInstallOptions, t: InstalledTool): void {
  opts.store?.tools.put({
    name: t.name,
    version: t.version,
    arch: t.arch,
    sha256: t.sha256,
    path: t.binPath,
    versionOutput: t.versionOutput,
    installedAt: (opts.now ?? Date.now)(),
  });
}

/**
 * actions/tool-cache (setup-* actions, tc.find) looks in {name}/{semver.clean(version)}/{arch}:
 * for a version written `v2.13.3` that is `2.13.3`. A relative link there (it resolves inside
 * containers too) makes the installed tool findable under both names.
 */
function linkCleanVersion(dataDir: string, tool: Pick<ToolConfig, 'name' | 'version'>): void {
  const m = /^[v=]+(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)(?:\+[0-9A-Za-z.-]+)?$/.exec(tool.version);
  if (!m || m[1] === tool.version) return;
  const link = path.join(dataDir, 'tools', tool.name, m[1]!);
  try {
    fs.symlinkSync(tool.version, link);
  } catch (err) {
    // Already there: our link, or that version configured on its own (left alone).
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

