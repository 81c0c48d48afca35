import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { modulesIn } from '../../backends/index.js';
import { formatIssues, isConfigError } from '../../config/errors.js';
import type { FleetConfig } from '../../config/types.js';
import { anyFailed, defaultExec, fail, formatTable, runDoctor, type CheckResult, type DoctorContext } from '../../doctor/index.js';
import { describeError, isFleetError } from '../../errors.js';
import { createGitHubClient } from '../../github/client.js';
import { createLogger } from '../../log.js';
import { createHttp } from '../../net/http.js';
import { DB_FILE, openStore } from '../../store/index.js';
import type { CliContext } from '../context.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('doctor')
    .description('check config, data dir, Docker/systemd, GitHub credentials, runner version, tools, network; exit 1 if any check fails')
    .option('--json', 'print the checks as JSON')
    .action((opts: { json?: boolean }) => doctor(ctx, opts.json === true));
}

function print(ctx: CliContext, rows: CheckResult[], json: boolean): void {
  if (json) ctx.stdout.write(`${JSON.stringify({ ok: !anyFailed(rows), checks: rows }, null, 2)}\n`);
  else ctx.stdout.write(formatTable(rows));
}

async function doctor(ctx: CliContext, json: boolean): Promise<void> {
  let cfg: FleetConfig;
  try {
    cfg = await ctx.loadConfig();
  } catch (err) {
    // A configuration error stays exit 2 (docs/contract.md §3), but still as a table row with its fix.
    if (!isConfigError(err) && !isFleetError(err, 'CONFIG_NOT_FOUND')) throw err;
    const detail = isConfigError(err) ? formatIssues(err.issues).replaceAll('\n', '; ') : describeError(err);
    print(ctx, [fail('config', detail, 'runner-fleet validate shows every problem with its line; see config.example.yaml')], json);
    ctx.exitCode = 2;
    return;
  }
  const logger = createLogger({ level: 'silent' });
  const http = createHttp({ network: cfg.network, connectTimeoutMs: 5000 });
  const dbExists = fs.existsSync(path.join(cfg.host.dataDir, DB_FILE));
  const store = dbExists ? tryOpen(cfg.host.dataDir) : undefined;
  const dctx: DoctorContext = { cfg, now: Date.now, exec: defaultExec, logger };
  if (store) dctx.store = store;
  try {
    dctx.github = createGitHubClient({
      apiUrl: cfg.github.apiUrl, auth: cfg.github.auth, logger, fetch: http.fetch, retryBaseMs: 100, maxRateLimitWaitMs: 0,
    }).service;
  } catch {
    // reported by the GitHub checks as "no GitHub client"
  }
  for (const m of modulesIn(cfg)) await m.doctor.prepare?.(dctx);
  try {
    const rows = await runDoctor(dctx);
    print(ctx, rows, json);
    if (anyFailed(rows)) ctx.exitCode = 1;
  } finally {
    store?.close();
    await http.close();
  }
}

function tryOpen(dataDir: string) {
  try {
    return openStore(dataDir);
  } catch {
    return undefined; // the data-dir check reports permission problems
  }
}
