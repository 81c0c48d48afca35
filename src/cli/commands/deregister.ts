import type { Command } from 'commander';
import { controlSocketPath } from '../../api/socket.js';
import { createApiClient } from '../../api/client.js';
import { FleetError, isFleetError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { seconds, waitDrained } from './drain.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('deregister')
    .description("remove this host's runners from GitHub and stop them")
    .option('--all', 'every runner of this host (required)')
    .option('--json', "print the daemon's answer as JSON")
    .option('--timeout <seconds>', 'how long to wait for busy runners to finish their job (default: shutdown.drainTimeout)')
    .addHelpText('after', '\nGoes through the running daemon (it owns the runners and the GitHub credentials); exit 1 if it is not running.')
    .action(async (opts: { all?: boolean; json?: boolean; timeout?: string }) => {
      if (!opts.all) throw new FleetError('USAGE', 'deregister needs --all (removing single runners is not supported)');
      const cfg = await ctx.loadConfig();
      const client = createApiClient({ listen: cfg.api.listen, socketPath: controlSocketPath(cfg.host.dataDir), ...(cfg.api.token ? { token: cfg.api.token } : {}) });
      let result: Record<string, unknown>;
      try {
        result = await client.deregisterAll();
      } catch (err) {
        if (isFleetError(err, 'DAEMON_UNREACHABLE')) {
          throw new FleetError('DAEMON_UNREACHABLE', `cannot deregister: ${err.message}; start the daemon (runner-fleet daemon) and retry`, { cause: err.cause });
        }
        throw err;
      }
      // Idle runners go at once; a busy one is deregistered when its job ends, never killed.
      const timeoutMs = opts.timeout === undefined ? cfg.shutdown.drainTimeoutMs : seconds(opts.timeout) * 1000;
      const done = await waitDrained(client, undefined, timeoutMs, (left) => ctx.stderr.write(`waiting for ${left}\n`));
      if (!done) {
        ctx.stderr.write(`runner-fleet deregister: timed out after ${Math.round(timeoutMs / 1000)}s with busy runners still running their job\n`);
        ctx.exitCode = 1;
        return;
      }
      if (opts.json) {
        ctx.stdout.write(JSON.stringify(result, null, 2) + '\n');
        return;
      }
      const { ok: _ok, ...rest } = result;
      const summary = Object.entries(rest).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.length : JSON.stringify(v)}`).join(', ');
      ctx.stdout.write(`deregistered this host's runners${summary ? ` (${summary})` : ''}\n`);
    });
}
