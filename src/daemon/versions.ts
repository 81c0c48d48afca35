import type { Clock } from '../clock.js';
import type { FleetConfig, Scope } from '../config/types.js';
import { describeError, FleetError } from '../errors.js';
import { backoffMs } from '../reconcile/exits.js';
import type { RunnerService } from '../github/types.js';
import type { Logger } from '../log.js';
import { ensureConfiguredRunner, RunnerCache } from '../runner/download.js';
import type { Store } from '../store/types.js';

/**
 * Which runner version new runners get. `latest` is re-resolved on `runner.updateSchedule` and
 * after an exit 7 (deprecated); a new version is downloaded and verified before any runner
 * uses it, so a roll never waits on a download with a runner already stopped.
 */
export class RunnerVersions {
  current: string | null = null;
  /** Why the last resolve/download failed (e.g. DISK_FULL); null once one succeeds. */
  error: { code: string; message: string } | null = null;
  private failures = 0;
  private inflight: Promise<string | null> | null = null;
  private readonly stopper = new AbortController();
  private readonly cache = new RunnerCache();

  constructor(
    private readonly deps: {
      config: () => FleetConfig;
      github: Pick<RunnerService, 'downloads'>;
      fetch: typeof fetch;
      store: Store;
      logger: Logger;
      onChange: (version: string) => void;
      clock: Clock;
    },
  ) {}

  stop(): void {
    this.stopper.abort();
  }

  /** Resolve + cache; single flight. Returns the version in force (unchanged on failure). */
  refresh(): Promise<string | null> {
    this.inflight ??= this.doRefresh().finally(() => (this.inflight = null));
    return this.inflight;
  }

  private async doRefresh(): Promise<string | null> {
    const cfg = this.deps.config();
    const scope: Scope | undefined = cfg.pools[0]?.scope;
    if (!scope) return this.current;
    try {
      const cached = await ensureConfiguredRunner({
        cfg, service: this.deps.github, scope, fetch: this.deps.fetch, store: this.deps.store, logger: this.deps.logger, cache: this.cache,
      });
      if (cached.version !== this.current) {
        const previous = this.current;
        this.current = cached.version;
        this.deps.store.events.append({ kind: 'runner.version', runner: null, pool: null, data: { version: cached.version, previous } });
        this.deps.logger.info({ version: cached.version, previous }, previous ? 'new runner version: rolling idle runners' : 'runner version ready');
        this.deps.onChange(cached.version);
      }
      this.failures = 0;
      this.error = null;
    } catch (err) {
      this.failures++;
      this.error = { code: err instanceof FleetError ? err.code : 'DOWNLOAD_FAILED', message: describeError(err) };
      const retryMs = backoffMs(this.failures);
      this.deps.logger.error({ err: this.error.message, retryMs }, 'cannot resolve or download the runner; keeping the current version, retrying');
      // Retried with backoff, not only at the next updateSchedule: a first start would wait a day.
      this.deps.clock.sleep(retryMs, this.stopper.signal).then(() => this.refresh(), () => undefined);
    }
    return this.current;
  }
}
