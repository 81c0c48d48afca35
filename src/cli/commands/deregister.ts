import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { controlSocketPath } from '../../api/socket.js';
import { createApiClient, type ApiClient } from '../../api/client.js';
import { FleetError, isFleetError } from '../../errors.js';
import { plural } from '../../plural.js';
import type { FleetConfig } from '../../config/types.js';
import { DB_FILE } from '../../store/index.js';
import type { CliContext } from '../context.js';
import { formatDuration } from '../../config/duration.js';
import { durationOption } from '../options.js';
import { waitDrained } from './drain.js';

/** With the daemon stopped: the host's state database and GitHub, directly (src/daemon/decommission.ts). */
async function offline(cfg: FleetConfig, ctx: CliContext, timeoutMs: number): Promise<Outcome | undefined> {
  // Never create a state database here: with none, this host has nothing registered.
  if (!fs.existsSync(path.join(cfg.host.dataDir, DB_FILE))) {
    ctx.stderr.write(`daemon not running and no state database in ${cfg.host.dataDir}: nothing of this host is registered\n`);
    return undefined;
  }
  ctx.stderr.write('daemon not running: deregistering from the state database and GitHub directly\n');
  // Loaded here: the daemon's whole wiring is not needed for the usual call through the API.
  const { decommission } = await import('../../daemon/decommission.js');
  const r = await decommission(cfg, ctx.stderrLogger(), timeoutMs);
  return { done: r.done, removed: r.removed, remaining: r.remaining, extra: { scaleSets: r.scaleSets } };
}

interface Outcome {
  done: boolean;
  removed: { name: string; pool: string; githubId: number | null }[];
  remaining: string[];
  extra: Record<string, unknown>;
}

/** Through the running daemon: it owns the runners and the GitHub credentials. */
async function online(client: ApiClient, timeoutMs: number, ctx: CliContext): Promise<Outcome> {
  const before = (await client.status()).pools.flatMap((p) => p.runners.filter((r) => r.state !== 'gone').map((r) => ({ name: r.name, pool: p.name, githubId: r.githubId })));
  const { ok: _ok, ...extra } = await client.deregisterAll();
  // Idle runners go at once; a busy one is deregistered when its job ends, never killed.
  const done = await waitDrained(client, undefined, timeoutMs, (left) => ctx.stderr.write(`waiting for ${left}\n`));
  const left = new Set((await client.status().catch(() => undefined))?.pools.flatMap((p) => p.runners.filter((r) => r.state !== 'gone').map((r) => r.name)) ?? []);
  return { done, removed: before.filter((r) => !left.has(r.name)), remaining: [...left], extra };
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('deregister')
    .description("remove this host's runners from GitHub and stop them")
    .option('--all', 'every runner of this host (required)')
    .option('--json', 'print JSON: {removed: [{name, pool, githubId}]} (what was deregistered)')
    .option('--timeout <duration>', 'how long to wait for busy runners to finish their job: 90s, 10m (default: shutdown.drainTimeout)')
    .addHelpText('after', '\nGoes through the running daemon (it owns the runners and the GitHub credentials); with no daemon\nrunning, straight from the state database and GitHub (run it as the daemon\'s user: root for\nsystemd pools). Busy runners finish their job first, never killed.\nExit 0 done, 1 timed out with busy runners left, 2 usage.')
    .action(async (opts: { all?: boolean; json?: boolean; timeout?: string }) => {
      if (!opts.all) throw new FleetError('USAGE', 'deregister needs --all (removing single runners is not supported)');
      const timeoutOpt = opts.timeout === undefined ? undefined : durationOption('--timeout', opts.timeout);
      const cfg = await ctx.loadConfig();
      const client = createApiClient({ listen: cfg.api.listen, socketPath: controlSocketPath(cfg.host.dataDir), ...(cfg.api.token ? { token: cfg.api.token } : {}) });
      const timeoutMs = timeoutOpt ?? cfg.shutdown.drainTimeoutMs;
      let out: Outcome | undefined;
      try {
        out = await online(client, timeoutMs, ctx);
      } catch (err) {
        if (!isFleetError(err, 'DAEMON_UNREACHABLE')) throw err;
        out = await offline(cfg, ctx, timeoutMs);
      }
      out ??= { done: true, removed: [], remaining: [], extra: {} };
      const { done, removed, remaining, extra } = out;
      if (opts.json) ctx.stdout.write(JSON.stringify({ ...extra, ok: done, removed, remaining }, null, 2) + '\n');
      else {
        ctx.stdout.write(`deregistered ${plural(removed.length, 'runner')}${removed.length ? `: ${removed.map((r) => r.name).join(', ')}` : ''}\n`);
        const sets = Array.isArray(extra.scaleSets) ? (extra.scaleSets as string[]) : [];
        if (sets.length) ctx.stdout.write(`deleted scale sets: ${sets.join(', ')}\n`);
      }
      if (!done) {
        ctx.stderr.write(`runner-fleet deregister: timed out after ${formatDuration(timeoutMs)} with busy runners still running their job\n`);
        ctx.exitCode = 1;
      }
    });
}
