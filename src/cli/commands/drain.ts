import type { Command } from 'commander';
import { controlSocketPath } from '../../api/socket.js';
import { createApiClient, type ApiClient } from '../../api/client.js';
import type { StatusReport } from '../../api/types.js';
import { formatDuration } from '../../config/duration.js';
import type { FleetConfig } from '../../config/types.js';
import { FleetError, isFleetError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { durationOption } from '../options.js';

const POLL_MS = 1000;

export function register(program: Command, ctx: CliContext): void {
  program
    .command('drain')
    .description('stop starting runners, deregister idle ones, wait for busy ones to finish')
    .option('--pool <name>', 'only this pool')
    .option('--timeout <duration>', 'give up waiting for busy runners after this long: 90s, 10m, 1h (default: shutdown.drainTimeout)')
    .addHelpText('after', '\nThe drain lasts (across reloads and restarts) until `runner-fleet undrain`.\nExit 0 once the pool(s) have no runners left, 1 on timeout or when the daemon is not running, 2 unknown pool.')
    .action(async (opts: { pool?: string; timeout?: string }) => {
      const timeoutMs = opts.timeout === undefined ? undefined : durationOption('--timeout', opts.timeout);
      const cfg = await ctx.loadConfig();
      knownPool(cfg.pools.map((p) => p.name), opts.pool);
      const waitMs = timeoutMs ?? cfg.shutdown.drainTimeoutMs;
      const client = controlClient(cfg);
      await control('drain', () => client.drain({ ...(opts.pool ? { pool: opts.pool } : {}), timeoutSeconds: waitMs / 1000 }));
      const what = opts.pool ? `pool ${opts.pool}` : 'all pools';
      ctx.stderr.write(`draining ${what} (timeout ${formatDuration(waitMs)}); runner-fleet undrain${opts.pool ? ` --pool ${opts.pool}` : ''} lifts it\n`);
      const ok = await waitDrained(client, opts.pool, waitMs, (left) => ctx.stderr.write(`waiting for ${left}\n`));
      if (ok) {
        ctx.stdout.write(`drained ${what}\n`);
      } else {
        ctx.stderr.write(`runner-fleet drain: timed out after ${formatDuration(waitMs)} with runners still present\n`);
        ctx.exitCode = 1;
      }
    });
  program
    .command('undrain')
    .description('lift a drain: the pool (or every pool) starts runners again')
    .option('--pool <name>', 'only this pool')
    .addHelpText('after', '\nExit 0 lifted, 1 the daemon is not running, 2 unknown pool.')
    .action(async (opts: { pool?: string }) => {
      const cfg = await ctx.loadConfig();
      knownPool(cfg.pools.map((p) => p.name), opts.pool);
      await control('undrain', () => controlClient(cfg).undrain(opts.pool ? { pool: opts.pool } : {}));
      ctx.stdout.write(`undrained ${opts.pool ? `pool ${opts.pool}` : 'all pools'}\n`);
    });
}

function knownPool(configured: string[], pool: string | undefined): void {
  if (pool !== undefined && !configured.includes(pool)) {
    throw new FleetError('USAGE', `unknown pool "${pool}" (configured: ${configured.join(', ') || 'none'})`);
  }
}

/** The daemon's control client (one place to change when control moves to the unix socket). */
function controlClient(cfg: FleetConfig): ApiClient {
  return createApiClient({ listen: cfg.api.listen, socketPath: controlSocketPath(cfg.host.dataDir), ...(cfg.api.token ? { token: cfg.api.token } : {}) });
}

async function control<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (isFleetError(err, 'DAEMON_UNREACHABLE')) {
      throw new FleetError('DAEMON_UNREACHABLE', `cannot ${what}: ${err.message}; is the daemon running?`, { cause: err.cause });
    }
    throw err;
  }
}

/** Polls status until the selected pools have no runners; reports what is left when it changes. */
export async function waitDrained(client: ApiClient, pool: string | undefined, timeoutMs: number, progress: (left: string) => void): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const left = remaining(await client.status(), pool);
    if (left.length === 0) return true;
    const desc = left.map((r) => `${r.name} (${r.busy ? 'busy' : r.state})`).join(', ');
    if (desc !== last) progress(desc);
    last = desc;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))));
  }
}

function remaining(s: StatusReport, pool: string | undefined): { name: string; state: string; busy: boolean }[] {
  return s.pools.filter((p) => !pool || p.name === pool).flatMap((p) => [
    ...p.runners.filter((r) => r.state !== 'gone'),
    // deregister --all also waits for the host's scale sets to be deleted.
    ...(s.deregistering && p.scaleSet ? [{ name: `scale set ${p.scaleSet.name}`, state: 'deleting', busy: false }] : []),
  ]);
}
