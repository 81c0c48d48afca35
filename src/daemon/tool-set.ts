import type { FleetConfig } from '../config/types.js';
import type { Clock } from '../clock.js';
import { FleetError, describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Http } from '../net/http.js';
import { backoffMs } from '../reconcile/exits.js';
import type { Store } from '../store/types.js';
import { installTools, verifyInstalledTools } from '../tools/install.js';
import type { InstalledTool } from '../tools/types.js';

export interface ToolError {
  name: string;
  version: string;
  code: string;
  message: string;
}

export interface ToolSetDeps {
  /** Read at each attempt: a reload swaps the config and the HTTP stack. */
  config: () => FleetConfig;
  http: () => Http;
  store: Store;
  logger: Logger;
  clock: Clock;
  /** Aborted at shutdown: no retry is scheduled after it. */
  stopping: AbortSignal;
}

/** The tools runners get on PATH, and the ones that failed (status says why). */
export class ToolSet {
  installed: InstalledTool[] = [];
  errors: ToolError[] = [];

  constructor(private readonly deps: ToolSetDeps) {}

  /** A tool that failed (DISK_FULL, a mirror down) is retried with backoff; status says why meanwhile. */
  readonly install = async (failures = 0): Promise<void> => {
    const { logger, clock } = this.deps;
    const r = await prepareTools(this.deps.config(), this.deps.http(), this.deps.store, logger);
    this.installed = r.installed;
    this.errors = r.failed;
    if (r.failed.length === 0) return;
    const retryMs = backoffMs(failures + 1);
    logger.warn({ tools: r.failed.map((f) => `${f.name}@${f.version}`), retryMs }, 'tools not installed; retrying');
    clock.sleep(retryMs, this.deps.stopping).then(() => this.install(failures + 1), () => undefined);
  };
}

/**
 * Re-hash what is installed (tampering is reported and repaired, missing tools installed), then
 * apply the config's pins (a changed sha256 is a new artifact). A tool that fails (e.g.
 * CHECKSUM_MISMATCH, logged) stays off PATH alone: runners still start with the others, jobs
 * that need it fail visibly, and doctor says why.
 */
async function prepareTools(cfg: FleetConfig, http: Http, store: Store, logger: Logger): Promise<{ installed: InstalledTool[]; failed: ToolError[] }> {
  if (cfg.tools.length === 0) return { installed: [], failed: [] };
  const opts = { fetch: http.fetch, store, logger };
  const verified = await verifyInstalledTools({ ...opts, cfg });
  const failedIds = new Map(verified.failed.map((f) => [f.tool, f]));
  const installed: InstalledTool[] = [];
  const failed: ToolError[] = [];
  for (const tool of cfg.tools) {
    const f = failedIds.get(`${tool.name}@${tool.version}`);
    if (f) {
      failed.push({ name: tool.name, version: tool.version, code: f.code, message: f.error });
      continue;
    }
    // installTools logs its own failure.
    // Only the pin check and the store record are left: verify has just hashed what is installed.
    try {
      installed.push(...(await installTools({ ...opts, cfg: { host: cfg.host, tools: [tool] }, verified: verified.tools })));
    } catch (err) {
      failed.push({ name: tool.name, version: tool.version, code: err instanceof FleetError ? err.code : 'TOOL_INSTALL', message: describeError(err) });
    }
  }
  return { installed, failed };
}
