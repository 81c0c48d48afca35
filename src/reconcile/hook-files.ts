import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { RunnerRow, Store } from '../store/types.js';
import type { JobQueue } from './jobs.js';
import type { LaunchKit } from './kit.js';
import type { JobHookState } from './types.js';

/**
 * The job hook files: the local busy truth, and the job's to write (CONTRACT §6). Read side by
 * side and never blocking; a runner whose file a job vandalised (FIFO, link, huge, garbage) is
 * tainted for the rest of its life, so the planner replaces it (busy-safe) instead of reusing it.
 */
export class HookFiles {
  /** name → why its file was refused */
  private readonly tainted = new Map<string, string>();

  constructor(private readonly deps: { kit: LaunchKit; jobs: Pick<JobQueue, 'claim'>; store: Store; logger: Logger }) {}

  async read(rows: RunnerRow[]): Promise<{ hooks: Map<string, JobHookState>; tainted: Set<string> }> {
    const hooks = new Map<string, JobHookState>();
    await Promise.all(
      rows.map(async (r) => {
        try {
          const h = await this.deps.kit.readHook(r.name);
          if (h) hooks.set(r.name, h);
          if (h?.state === 'busy' && h.runId) this.deps.jobs.claim(r.name, r.pool, h.runId);
        } catch (err) {
          this.taint(r, err);
        }
      }),
    );
    const live = new Set(rows.map((r) => r.name));
    for (const name of this.tainted.keys()) if (!live.has(name)) this.tainted.delete(name);
    this.deps.kit.retainHooks?.(live);
    return { hooks, tainted: new Set(this.tainted.keys()) };
  }

  private taint(row: RunnerRow, err: unknown): void {
    if (this.tainted.has(row.name)) return;
    const why = describeError(err);
    this.tainted.set(row.name, why);
    this.deps.logger.warn({ runner: row.name, pool: row.pool, err: why }, 'runner file refused: the runner is replaced once GitHub says it is not busy');
    this.deps.store.runners.update(row.name, { lastError: why });
    this.deps.store.events.append({ kind: 'runner.refused', runner: row.name, pool: row.pool, data: { error: why } });
  }
}
