import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { controlSocketPath } from '../../api/socket.js';
import { createApiClient } from '../../api/client.js';
import { FleetError, isFleetError } from '../../errors.js';
import { plural } from '../../plural.js';
import type { FleetConfig } from '../../config/types.js';
import { isPresent } from '../../reconcile/states.js';
import { deleteScaleSetsOffline } from '../../scaleset/offline.js';
import { DB_FILE, openStore } from '../../store/index.js';
import type { Store } from '../../store/types.js';
import type { CliContext } from '../context.js';
import { formatDuration } from '../../config/duration.js';
import { durationOption } from '../options.js';
import { waitDrained } from './drain.js';

/** With the daemon stopped: delete scale sets whose pools have no runner recorded; clean when no runner is recorded at all. */
async function offlineScaleSets(cfg: FleetConfig, ctx: CliContext): Promise<{ deleted: string[]; clean: boolean } | undefined> {
  // Never create a state database here: with none, there is nothing to delete.
  if (!fs.existsSync(path.join(cfg.host.dataDir, DB_FILE))) return undefined;
  let store: Store;
  try {
    store = openStore(cfg.host.dataDir);
  } catch {
    return undefined;
  }
  try {
    if (store.scaleSets.list().length === 0) return undefined;
    const { deleted } = await deleteScaleSetsOffline(cfg, store, ctx.stderrLogger());
    return { deleted, clean: store.runners.list().filter(isPresent).length === 0 };
  } finally {
    store.close();
  }
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('deregister')
    .description("remove this host's runners from GitHub and stop them")
    .option('--all', 'every runner of this host (required)')
        .option('--json', 'print JSON: {removed: [{name, pool, githubId}]} (what was deregistered)')
    .option('--timeout <duration>', 'how long to wait for busy runners to finish their job: 90s, 10m (default: shutdown.drainTimeout)')
    .addHelpText('after', '\nGoes through the running daemon (it owns the runners and the GitHub credentials).\nExit 0 done, 1 timed out or the daemon is not running, 2 usage.')
    .action(async (opts: { all?: boolean; json?: boolean; timeout?: string }) => {
      if (!opts.all) throw new FleetError('USAGE', 'deregister needs --all (removing single runners is not supported)');
      const timeoutOpt = opts.timeout === undefined ? undefined : durationOption('--timeout', opts.timeout);
      const cfg = await ctx.loadConfig();
      const client = createApiClient({ listen: cfg.api.listen, socketPath: controlSocketPath(cfg.host.dataDir), ...(cfg.api.token ? { token: cfg.api.token } : {}) });
      let result: Record<string, unknown>;
      let before: { name: string; pool: string; githubId: number | null }[];
      try {
        before = (await client.status()).pools.flatMap((p) => p.runners.filter((r) => r.state !== 'gone').map((r) => ({ name: r.name, pool: p.name, githubId: r.githubId })));
        result = await client.deregisterAll();
      } catch (err) {
        if (isFleetError(err, 'DAEMON_UNREACHABLE')) {
          // The host's scale sets go straight away (once their runners are gone), daemon or not.
          const offline = await offlineScaleSets(cfg, ctx);
          if (offline?.clean) {
            ctx.stdout.write(`daemon not running; no runners recorded; scale sets deleted: ${offline.deleted.join(', ') || 'none'}\n`);
            return;
          }
          throw new FleetError('DAEMON_UNREACHABLE', `cannot deregister: ${err.message}; start the daemon (runner-fleet daemon) and retry`, { cause: err.cause });
        }
        throw err;
      }
      // Idle runners go at once; a busy one is deregistered when its job ends, never killed.
      const timeoutMs = timeoutOpt ?? cfg.shutdown.drainTimeoutMs;
      const done = await waitDrained(client, undefined, timeoutMs, (left) => ctx.stderr.write(`waiting for ${left}\n`));
      const left = new Set((await client.status().catch(() => undefined))?.pools.flatMap((p) => p.runners.filter((r) => r.state !== 'gone').map((r) => r.name)) ?? []);
      const removed = before.filter((r) => !left.has(r.name));
      const { ok: _ok, ...rest } = result;
      if (opts.json) ctx.stdout.write(JSON.stringify({ ...rest, ok: done, removed, remaining: [...left] }, null, 2) + '\n');
      else ctx.stdout.write(`deregistered ${plural(removed.length, 'runner')}${removed.length ? `: ${removed.map((r) => r.name).join(', ')}` : ''}\n`);
      if (!done) {
        ctx.stderr.write(`runner-fleet deregister: timed out after ${formatDuration(timeoutMs)} with busy runners still running their job\n`);
        ctx.exitCode = 1;
      }
    });
}
