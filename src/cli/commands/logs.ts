import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { createBackend } from '../../backends/index.js';
import type { Backend } from '../../backends/types.js';
import { runnerNamePattern } from '../../config/names.js';
import type { FleetConfig, PoolConfig } from '../../config/types.js';
import { FleetError } from '../../errors.js';
import { silentLogger, type Logger } from '../../log.js';
import { DB_FILE, openStoreReadOnly } from '../../store/index.js';
import { createLogArchive } from '../../runner/log-archive.js';
import type { CliContext, Out } from '../context.js';

export interface LogsOptions {
  cfg: FleetConfig;
  runner: string;
  tail: number;
  out: Out;
  /** Injected by tests; otherwise the pool's backend is built from the config. */
  backend?: Backend;
  logger?: Logger;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('logs')
    .description('recent output of one runner (container logs, journal, or captured output)')
    .addHelpText('after', '\nExit 0 printed, 1 no such runner (not running and not in the state database), 2 usage (a name not of this host).')
    .argument('<runner>', 'runner name')
    .option('-n, --tail <lines>', 'number of lines from the end', '100')
    .action(async (runner: string, o: { tail: string }) => {
      const tail = Number(o.tail);
      if (!Number.isInteger(tail) || tail <= 0) throw new FleetError('USAGE', `--tail must be a positive integer, got "${o.tail}"`);
      await runLogs({ cfg: await ctx.loadConfig(), runner, tail, out: ctx.stdout });
    });
}

/** The configured pool that owns `runner` by its whole name (docs/contract.md §5), or a usage error. */
export function poolOf(cfg: FleetConfig, runner: string): PoolConfig {
  const pool = cfg.pools.find((p) => runnerNamePattern(cfg.host.name, p.name).test(runner));
  if (!pool) {
    throw new FleetError('USAGE', `${runner} is not a runner of this host (${cfg.host.name}-{pool}-{suffix} for a configured pool)`);
  }
  return pool;
}

/** An empty log is only an answer for a runner that exists (or existed): else it is a typo. */
async function known(cfg: FleetConfig, runner: string, backend: Backend): Promise<boolean> {
  if ((await backend.list().catch(() => [])).some((r) => r.name === runner)) return true;
  if (!fs.existsSync(path.join(cfg.host.dataDir, DB_FILE))) return false;
  try {
    const store = openStoreReadOnly(cfg.host.dataDir);
    try {
      return store.runners.get(runner) !== undefined;
    } finally {
      store.close();
    }
  } catch {
    return false;
  }
}

async function kept(opts: LogsOptions): Promise<string | undefined> {
  const text = await createLogArchive({ dataDir: opts.cfg.host.dataDir }).read(opts.runner);
  if (text === undefined) return undefined;
  const lines = text.replace(/\n$/, '').split('\n');
  return lines.slice(-opts.tail).join('\n');
}

/** Prints the runner's recent output; read-only, works whether or not the daemon runs. */
export async function runLogs(opts: LogsOptions): Promise<void> {
  const pool = poolOf(opts.cfg, opts.runner);
  const backend = opts.backend ?? await createBackend(pool.backend, opts.cfg, opts.logger ?? silentLogger());
  try {
    let text: string;
    try {
      if (!backend.logs) throw new FleetError('NOT_IMPLEMENTED', `the ${backend.kind} backend keeps no logs`);
      text = await backend.logs(opts.runner, { tail: opts.tail });
      if (text === '') text = (await kept(opts)) ?? '';
    } catch (err) {
      // A runner that is gone: its last output was kept when it ended.
      const old = await kept(opts);
      if (old === undefined) throw err;
      text = old;
    }
    if (text === '' && !(await known(opts.cfg, opts.runner, backend))) {
      throw new FleetError('RUNNER_NOT_FOUND', `runner ${opts.runner} not found: the ${backend.kind} backend runs no such runner and the state database has no record of it`);
    }
    opts.out.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
  } finally {
    if (!opts.backend) await backend.close?.();
  }
}
