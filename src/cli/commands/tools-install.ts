import type { Command } from 'commander';
import { createHttp } from '../../net/http.js';
import { openStore } from '../../store/index.js';
import { installTools } from '../../tools/install.js';
import type { CliContext } from '../context.js';
import { withDataDir } from '../data-dir.js';

export function register(program: Command, ctx: CliContext): void {
  const tools = program.command('tools').description('CD tools (argocd, yq, ...)');
  tools
    .command('install')
    .description('install and verify every configured tool (idempotent)')
    .action(() => install(ctx));
}

async function install(ctx: CliContext): Promise<void> {
  const cfg = await ctx.loadConfig();
  if (cfg.tools.length === 0) {
    ctx.stdout.write('no tools configured\n');
    return;
  }
  const logger = ctx.stderrLogger();
  const http = createHttp({ network: cfg.network });
  // cli-progress only for this command, not in every runner-fleet process (the daemon's RSS).
  const { progressSink } = await import('../../runner/progress.js');
  await withDataDir(cfg.host.dataDir, async () => {
    const store = openStore(cfg.host.dataDir);
    const progress = progressSink(ctx.stderr);
    try {
      // A bad tool is logged and rethrown after the others are done (exit 1 with its code).
      const done = await installTools({ cfg, fetch: http.fetch, store, logger, onProgress: progress.onProgress });
      progress.stop();
      for (const t of done) {
        const how = t.downloaded ? 'installed' : 'already installed';
        const ver = t.versionOutput ? ` — ${t.versionOutput.split('\n')[0]}` : '';
        ctx.stdout.write(`${t.name} ${t.version}: ${how}, verified, ${t.binPath}${ver}\n`);
      }
    } finally {
      progress.stop();
      store.close();
      await http.destroy().catch(() => undefined);
    }
  });
}
