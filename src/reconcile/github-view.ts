import { describeError } from '../errors.js';
import type { GitHubRunner, RunnerService } from '../github/types.js';
import type { Logger } from '../log.js';
import { hostLabel, hostOwnership } from './host-id.js';
import type { PoolRuntime } from './pools.js';

export interface GitHubViewDeps {
  github: Pick<RunnerService, 'listRunners'>;
  logger: Logger;
  /** This host's persistent id: registrations labelled with another id are someone else's. */
  hostId?: string;
  /** How often GitHub's runner list is read. Default 120 s. */
  githubListIntervalMs?: number;
}

/**
 * The reconciler's picture of GitHub's runner lists, per pool. GitHub lags and costs rate
 * limit: read rarely, conditionally, and never block a run on it.
 */
export class GitHubView {
  /** Per pool, the registrations matching its name pattern; null until first read. */
  lists: Map<string, GitHubRunner[]> | null = null;
  /** Per pool: registrations matching our names that carry another host's id. */
  foreign = new Map<string, string[]>();
  private listedAt = 0;

  constructor(private readonly deps: GitHubViewDeps) {}

  async refresh(now: number, pools: Iterable<PoolRuntime>): Promise<void> {
    const every = this.deps.githubListIntervalMs ?? 120_000;
    if (this.lists && now - this.listedAt < every) return;
    this.listedAt = now;
    const next = new Map<string, GitHubRunner[]>();
    const byScope = new Map<string, GitHubRunner[] | null>();
    const failed = new Map<string, unknown>();
    for (const p of pools) {
      if (!p.ready) continue;
      const key = JSON.stringify(p.cfg.scope);
      if (!byScope.has(key)) {
        try {
          byScope.set(key, await this.deps.github.listRunners(p.cfg.scope));
        } catch (err) {
          byScope.set(key, null);
          failed.set(key, err);
          this.deps.logger.warn({ pool: p.cfg.name, err: describeError(err) }, 'cannot list runners on GitHub');
        }
      }
      const list = byScope.get(key);
      p.noteGitHubList(list ? undefined : failed.get(key));
      if (list) next.set(p.cfg.name, list.filter((g) => p.pattern.test(g.name)));
    }
    this.lists = next;
    this.noteForeign(next);
  }

  /** The next refresh reads GitHub whatever the interval. */
  invalidate(): void {
    this.listedAt = 0;
  }

  /**
   * Registrations named like ours but labelled with another host's id: another host uses our
   * names (a clone, or overlapping host and pool names). Left alone, and reported.
   */
  private noteForeign(lists: Map<string, GitHubRunner[]>): void {
    if (!this.deps.hostId) return;
    const mine = hostLabel(this.deps.hostId);
    const next = new Map<string, string[]>();
    for (const [pool, regs] of lists) {
      const names = regs.filter((g) => hostOwnership(g.labels, mine) === 'other').map((g) => g.name);
      if (names.length) next.set(pool, names);
      for (const n of names) {
        if (!this.foreign.get(pool)?.includes(n)) this.deps.logger.warn({ pool, runner: n }, `another host uses the name ${n}; leaving it alone`);
      }
    }
    this.foreign = next;
  }
}
