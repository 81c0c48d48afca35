import type { Command } from 'commander';
import { FleetError } from '../../errors.js';
import { createGitHubClient } from '../../github/client.js';
import { createHttp } from '../../net/http.js';
import { ensureConfiguredRunner } from '../../runner/download.js';
import { openStore } from '../../store/index.js';
import type { CliContext } from '../context.js';
import { withDataDir } from '../data-dir.js';

export function register(program: Command, ctx: CliContext): void {
  const runner = program.command('runner').description('runner binaries');
  runner
    .command('download')
    .description('fetch and verify the runner version into the cache')
    .action(() => download(ctx));
}

async function download(ctx: CliContext): Promise<void> {
  const cfg = await ctx.loadConfig();
  const logger = ctx.stderrLogger();
  const scope = cfg.pools[0]?.scope;
  const needsGitHub = !(cfg.runner.version !== 'latest' && cfg.runner.url);
  if (!scope && needsGitHub) throw new FleetError('USAGE', 'no pools configured: runners/downloads needs a scope (or pin runner.version with runner.url and runner.sha256)');
  const http = createHttp({ network: cfg.network });
  // cli-progress only for this command, not in every runner-fleet process (the daemon's RSS).
  const { progressSink } = await import('../../runner/progress.js');
  await withDataDir(cfg.host.dataDir, async () => {
    const store = openStore(cfg.host.dataDir);
    const progress = progressSink(ctx.stderr);
    try {
      const gh = createGitHubClient({ apiUrl: cfg.github.apiUrl, auth: cfg.github.auth, logger, fetch: http.fetch, retryBaseMs: 250 });
      const cached = await ensureConfiguredRunner({
        cfg,
        service: gh.service,
        scope: scope ?? { kind: 'org', org: '-' },
        fetch: http.fetch,
        store,
        logger,
        onProgress: progress.onProgress,
      });
      progress.stop();
      const how = cached.downloaded ? 'downloaded and verified' : 'already cached';
      ctx.stdout.write(`runner ${cached.version}: ${how} (sha256 ${cached.sha256}) at ${cached.path}\n`);
    } finally {
      progress.stop();
      store.close();
      await http.destroy().catch(() => undefined);
    }
  });
}
