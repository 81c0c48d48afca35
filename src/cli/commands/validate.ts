import type { Command } from 'commander';
import { atRest, maxRunners } from '../../reconcile/states.js';
import type { CliContext } from '../context.js';

/**
 * Problems go to stderr as FILE:LINE:COL: path: message (printed by main for ConfigError) with
 * exit 2; a valid file gets one summary line on stdout and exit 0.
 */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('validate')
    .description('check the config; print every problem as FILE:LINE:COL: path: message (exit 2) or a summary (exit 0)')
    .action(async () => {
      const cfg = await ctx.loadConfig();
      const desired = cfg.pools.reduce((n, p) => n + atRest(p), 0);
      const max = cfg.pools.reduce((n, p) => n + maxRunners(p), 0);
      const runners = max > desired ? `${desired} runners (up to ${max})` : `${desired} runners`;
      const plural = (n: number, w: string): string => `${n} ${w}${n === 1 ? '' : 's'}`;
      ctx.stdout.write(`config OK: ${plural(cfg.pools.length, 'pool')}, ${runners}, ${plural(cfg.tools.length, 'tool')} (${cfg.source})\n`);
    });
}
