import type { Command } from 'commander';
import { controlSocketPath } from '../../api/socket.js';
import { createApiClient, type ApiClient } from '../../api/client.js';
import type { StatusReport } from '../../api/types.js';
import { FleetError, isFleetError } from '../../errors.js';
import type { CliContext } from '../context.js';

const POLL_MS = 1000;

export function register(program: Command, ctx: CliContext): void {
  program
    .command('drain')
    .description('stop starting runners, deregister idle ones, wait for busy ones to finish')
    .option('--pool <name>', 'only this pool')
    .option('--timeout <seconds>', 'give up waiting for busy runners after this many seconds (default: shutdown.drainTimeout)')
    .addHelpText('after', '\nExit 0 once the pool(s) have no runners left, 1 on timeout or when the daemon is not running.')
    .action(async (opts: { pool?: string; timeout?: string }) => {
      const cfg = await ctx.loadConfig();
      if (opts.pool !== undefined && !cfg.pools.some((p) => p.name === opts.pool)) {
        throw new FleetError('USAGE', `unknown pool "${opts.pool}" (configured: ${cfg.pools.map((p) => p.name).join(', ') || 'none'})`);
      }
      const timeoutMs = opts.timeout === undefined ? cfg.shutdown.drainTimeoutMs : seconds(opts.timeout) * 1000;
      const client = createApiClient({ listen: cfg.api.listen, socketPath: controlSocketPath(cfg.host.dataDir), ...(cfg.api.token ? { token: cfg.api.token } : {}) });
      await requestDrain(client, opts.pool, timeoutMs);
      ctx.stderr.write(`draining ${opts.pool ? `pool ${opts.pool}` : 'all pools'} (timeout ${Math.round(timeoutMs / 1000)}s)\n`);
      const ok = await waitDrained(client, opts.pool, timeoutMs, (left) => ctx.stderr.write(`waiting for ${left}\n`));
      if (ok) {
        ctx.stdout.write(`drained ${opts.pool ? `pool ${opts.pool}` : 'all pools'}\n`);
      } else {
        ctx.stderr.write(`runner-fleet drain: timed out after ${Math.round(timeoutMs / 1000)}s with runners still present\n`);
        ctx.exitCode = 1;
      }
    });
}

export function seconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new FleetError('USAGE', `--timeout: expected a number of seconds, got "${v}"`);
  return n;
}

async function requestDrain(client: ApiClient, pool: string | undefined, timeoutMs: number): Promise<void> {
  try {
    await client.drain({ ...(pool ? { pool } : {}), timeoutSeconds: timeoutMs / 1000 });
  } catch (err) {
    if (isFleetError(err, 'DAEMON_UNREACHABLE')) {
      throw new FleetError('DAEMON_UNREACHABLE', `cannot drain: ${err.message}; is the daemon running?`, { cause: err.cause });
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
  return s.pools.filter((p) => !pool || p.name === pool).flatMap((p) => p.runners.filter((r) => r.state !== 'gone'));
}
