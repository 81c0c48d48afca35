import type { Command } from 'commander';
import { formatIssue, isConfigError } from '../../config/errors.js';
import type { ConfigIssue, FleetConfig } from '../../config/types.js';
import { isFleetError } from '../../errors.js';
import { plural } from '../../plural.js';
import { atRest, maxRunners } from '../../reconcile/states.js';
import type { CliContext } from '../context.js';

/**
 * Problems go to stderr as FILE:LINE:COL: path: message (printed by main for ConfigError) with
 * exit 2; a valid file gets one summary line on stdout and exit 0, warnings on stderr.
 * --json (as `terraform validate -json`): one document on stdout either way, same exit codes.
 */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('validate')
    .description('check the config; print every problem as FILE:LINE:COL: path: message (exit 2) or a summary (exit 0)')
    .option('--json', 'print {valid, file, summary, issues, warnings} as JSON')
    .addHelpText('after', '\nWarnings (valid but probably unintended: duplicate labels, a huge pool, plain-http downloads) do not change the exit code.\nExit 0 valid, 2 invalid or not found.')
    .action(async (opts: { json?: boolean }) => {
      if (!opts.json) {
        const { loadConfigWithWarnings } = await import('../../config/load.js');
        const { config, warnings } = await loadConfigWithWarnings(ctx.configPath(), ctx.env);
        for (const w of warnings) ctx.stderr.write(`${formatWarning(w)}\n`);
        ctx.stdout.write(`config OK: ${summaryLine(config)}${warnings.length ? `, ${plural(warnings.length, 'warning')}` : ''} (${config.source})\n`);
        return;
      }
      const file = ctx.configPath();
      const { loadConfigWithWarnings } = await import('../../config/load.js');
      try {
        const { config, warnings } = await loadConfigWithWarnings(file, ctx.env);
        ctx.stdout.write(`${JSON.stringify({ valid: true, file, summary: summary(config), issues: [], warnings }, null, 2)}\n`);
      } catch (err) {
        const issues: ConfigIssue[] | undefined = isConfigError(err)
          ? err.issues
          : isFleetError(err, 'CONFIG_NOT_FOUND') ? [{ file, line: 0, col: 0, path: '', message: err.message }] : undefined;
        if (!issues) throw err;
        ctx.stdout.write(`${JSON.stringify({ valid: false, file, issues, warnings: [] }, null, 2)}\n`);
        ctx.exitCode = 2;
      }
    });
}

function formatWarning(w: ConfigIssue): string {
  return formatIssue({ ...w, message: `warning: ${w.message}` });
}

function summary(cfg: FleetConfig) {
  return {
    pools: cfg.pools.length,
    runners: cfg.pools.reduce((n, p) => n + atRest(p), 0),
    maxRunners: cfg.pools.reduce((n, p) => n + maxRunners(p), 0),
    tools: cfg.tools.length,
  };
}

function summaryLine(cfg: FleetConfig): string {
  const s = summary(cfg);
  const runners = s.maxRunners > s.runners ? `${plural(s.runners, 'runner')} (up to ${s.maxRunners})` : plural(s.runners, 'runner');
  return `${plural(s.pools, 'pool')}, ${runners}, ${plural(s.tools, 'tool')}`;
}
