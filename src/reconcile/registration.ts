import type { PoolConfig } from '../config/types.js';
import type { RunnerService } from '../github/types.js';
import type { Logger } from '../log.js';
import type { RunnerRow, Store } from '../store/types.js';
import type { LaunchKit } from './kit.js';

export interface RegistrationDeps {
  github: Pick<RunnerService, 'getRunner' | 'listRunners'>;
  kit: Pick<LaunchKit, 'registrationId'>;
  store: Store;
  logger: Logger;
}

/**
 * The GitHub id to deregister a runner by. An id in the row came from GitHub itself (the JIT
 * answer, or a lookup by name). The one in `.runner` is the job's to rewrite (CONTRACT §6), so
 * it is only a hint: used once GitHub confirms that registration carries this runner's name and
 * our ownership pattern; otherwise the runner is looked up by name (when `lookup`).
 */
export async function registrationOf(
  deps: RegistrationDeps,
  row: RunnerRow,
  pool: { cfg: Pick<PoolConfig, 'scope'>; pattern: RegExp },
  lookup: boolean,
): Promise<number | null> {
  if (row.githubId !== null) return row.githubId;
  const hinted = await deps.kit.registrationId?.(row.name);
  if (hinted !== undefined) {
    const g = await deps.github.getRunner(pool.cfg.scope, hinted);
    if (g && g.name === row.name && pool.pattern.test(g.name)) {
      deps.store.runners.update(row.name, { githubId: hinted });
      return hinted;
    }
    deps.logger.warn({ runner: row.name, id: hinted, registeredAs: g?.name ?? null }, ".runner names a registration that is not this runner's; not trusted");
  }
  return lookup ? lookupId(deps, pool.cfg, row.name) : null;
}

export async function lookupId(deps: RegistrationDeps, cfg: Pick<PoolConfig, 'scope'>, name: string): Promise<number | null> {
  const found = (await deps.github.listRunners(cfg.scope)).find((g) => g.name === name);
  if (found) deps.store.runners.update(name, { githubId: found.id });
  return found?.id ?? null;
}
