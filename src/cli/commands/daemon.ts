import type { Command } from 'commander';
import { leanDaemonFlags } from '../../daemon/lean.js';
import { runDaemon } from '../../daemon/run.js';
import type { CliContext } from '../context.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('daemon')
    .description('run in the foreground; SIGTERM/SIGINT stop as shutdown.mode says, SIGHUP reloads the config')
    .action(async () => {
      leanDaemonFlags();
      // A bad config throws here, before anything starts: exit 2 with every problem located.
      const config = await ctx.loadConfigIsolated();
      ctx.exitCode = await runDaemon({ config, reload: () => ctx.loadConfigIsolated(), logger: ctx.logger() });
    });
}
