import fs from 'node:fs';
import type { FleetConfig, ToolConfig } from '../config/types.js';
import { FleetError, describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Progress } from '../net/download.js';
import { hostArch } from '../runner/arch.js';
import type { Store } from '../store/types.js';
import { checkInstalledTool, installTool, toolPaths, type ToolInstallOptions } from './tool.js';
import type { InstalledTool } from './types.js';

export { installTool, readInstalledTool, listInstalledTools, checkInstalledTool, toolPaths, type ToolInstallOptions } from './tool.js';
export type { InstalledTool } from './types.js';

export interface InstallToolsOptions {
  cfg: Pick<FleetConfig, 'host' | 'tools'>;
  fetch: typeof fetch;
  store?: Pick<Store, 'tools'> & Partial<Pick<Store, 'events'>>;
  logger?: Logger;
  onProgress?: (p: Progress) => void;
  arch?: string;
  now?: () => number;
  /** See ToolInstallOptions.verified. */
  verified?: readonly InstalledTool[];
}

function perTool(opts: InstallToolsOptions): ToolInstallOptions {
  const o: ToolInstallOptions = { dataDir: opts.cfg.host.dataDir, fetch: opts.fetch, arch: opts.arch ?? hostArch() };
  if (opts.store) o.store = opts.store;
  if (opts.logger) o.logger = opts.logger;
  if (opts.onProgress) o.onProgress = opts.onProgress;
  if (opts.now) o.now = opts.now;
  if (opts.verified) o.verified = opts.verified;
  return o;
}

/**
 * Installs every configured tool. One bad tool does not stop the others; the first failure
 * is rethrown (with its own code, e.g. CHECKSUM_MISMATCH) after all were tried.
 */
export async function installTools(opts: InstallToolsOptions): Promise<InstalledTool[]> {
  const done: InstalledTool[] = [];
  let firstError: unknown;
  for (const tool of opts.cfg.tools) {
    try {
      done.push(await installTool(tool, perTool(opts)));
    } catch (err) {
      opts.logger?.error({ tool: tool.name, version: tool.version, err: describeError(err) }, 'tool install failed');
      firstError ??= err;
    }
  }
  if (firstError !== undefined) throw firstError;
  return done;
}

export interface VerifyResult {
  ok: string[];
  /** Present but the executable no longer hashes to what was installed. */
  tampered: string[];
  /** Missing or tampered, now installed again. */
  reinstalled: string[];
  failed: { tool: string; error: string; code: string }[];
  tools: InstalledTool[];
}

/** At start: re-hash every installed tool; tampering is reported (TOOL_TAMPERED) and repaired. */
export async function verifyInstalledTools(opts: InstallToolsOptions): Promise<VerifyResult> {
  const arch = opts.arch ?? hostArch();
  const r: VerifyResult = { ok: [], tampered: [], reinstalled: [], failed: [], tools: [] };
  for (const tool of opts.cfg.tools) {
    const id = `${tool.name}@${tool.version}`;
    try {
      const { status, installed } = await checkInstalledTool(opts.cfg.host.dataDir, tool, arch);
      if (status === 'ok' && installed) {
        r.ok.push(id);
        r.tools.push(installed);
        continue;
      }
      if (status === 'tampered') {
        r.tampered.push(id);
        reportTamper(opts, tool, arch);
      }
      r.tools.push(await installTool(tool, { ...perTool(opts), force: true }));
      r.reinstalled.push(id);
    } catch (err) {
      r.failed.push({ tool: id, error: describeError(err), code: err instanceof FleetError ? err.code : 'TOOL_INSTALL' });
      opts.logger?.error({ tool: tool.name, err: describeError(err) }, 'tool verify/reinstall failed');
    }
  }
  return r;
}

function reportTamper(opts: InstallToolsOptions, tool: ToolConfig, arch: string): void {
  const { binPath } = toolPaths(opts.cfg.host.dataDir, tool, arch);
  (opts.store as InstallToolsOptions['store'])?.events?.append({
    kind: 'TOOL_TAMPERED',
    runner: null,
    pool: null,
    data: { tool: tool.name, version: tool.version, arch, path: binPath },
  });
  opts.logger?.warn({ event: 'TOOL_TAMPERED', tool: tool.name, version: tool.version, path: binPath }, 'installed tool does not match its recorded hash; reinstalling');
  // Take it off PATH at once, before the reinstall runs.
  fs.rmSync(`${toolPaths(opts.cfg.host.dataDir, tool, arch).dir}.complete`, { force: true });
}
