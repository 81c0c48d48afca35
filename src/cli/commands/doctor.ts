import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { modulesIn } from '../../backends/index.js';
import { formatIssues, isConfigError } from '../../config/errors.js';
import type { FleetConfig } from '../../config/types.js';
import {
  anyFailed, DEFAULT_TIMEOUT_MS, defaultExec, fail, formatHeader, formatRows, formatSummary, runDoctor, type CheckResult, type DoctorContext,
} from '../../doctor/index.js';
import { describeError, isFleetError } from '../../errors.js';
import { createGitHubClient } from '../../github/client.js';
import { createLogger } from '../../log.js';
import { createHttp, type Http } from '../../net/http.js';
import { DB_FILE, openStore } from '../../store/index.js';
import type { CliContext } from '../context.js';
import { durationOption, terminalWidth } from '../options.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('doctor')
    .description('check config, data dir, Docker/systemd, GitHub credentials, runner version, tools, network; exit 1 if any check fails')
    .option('--json', 'print the checks as JSON')
    .option('--timeout <duration>', `per network call (5s, 1m...); the whole run is bounded by 6 times it (default ${DEFAULT_TIMEOUT_MS / 1000}s)`)
    .addHelpText('after', '\nEach failed network check names one cause: dns, connect, timeout, tls, proxy, http, auth, permission.\nChecks that depend on a failed one are SKIPPED.\nExit 0 all passed (warnings allowed), 1 a check failed, 2 the config is invalid.')
    .action((opts: { json?: boolean; timeout?: string }) => doctor(ctx, opts.json === true, opts.timeout === undefined ? DEFAULT_TIMEOUT_MS : durationOption('--timeout', opts.timeout)));
}

/** Streams rows on a TTY (table only); otherwise prints everything at the end. */
function printer(ctx: CliContext, json: boolean) {
  const width = terminalWidth(ctx);
  const stream = !json && ctx.stdout.isTTY === true;
  if (stream) ctx.stdout.write(formatHeader(width));
  return {
    onRows: (rows: CheckResult[]) => {
      if (stream) ctx.stdout.write(formatRows(rows, width));
    },
    done: (rows: CheckResult[]) => {
      if (json) ctx.stdout.write(`${JSON.stringify({ ok: !anyFailed(rows), checks: rows }, null, 2)}\n`);
      else ctx.stdout.write((stream ? '' : formatHeader(width) + formatRows(rows, width)) + formatSummary(rows));
    },
  };
}

async function doctor(ctx: CliContext, json: boolean, timeoutMs: number): Promise<void> {
  const out = printer(ctx, json);
  let cfg: FleetConfig;
  let http: Http;
  try {
    cfg = await ctx.loadConfig();
    http = createHttp({ network: cfg.network, connectTimeoutMs: timeoutMs });
  } catch (err) {
    // A configuration error stays exit 2 (docs/contract.md §3), but still as a table row with its fix.
    if (!isConfigError(err) && !isFleetError(err, 'CONFIG_NOT_FOUND') && !isFleetError(err, 'CONFIG_INVALID')) throw err;
    const detail = isConfigError(err) ? formatIssues(err.issues) : describeError(err);
    const row = fail('config', detail, 'runner-fleet validate shows every problem with its line; see config.example.yaml');
    out.onRows([row]);
    out.done([row]);
    ctx.exitCode = 2;
    return;
  }
  const logger = createLogger({ level: 'silent' });
  const dbExists = fs.existsSync(path.join(cfg.host.dataDir, DB_FILE));
  const store = dbExists ? tryOpen(cfg.host.dataDir) : undefined;
  // Every call bounded: a port that accepts and never answers costs one timeout, not minutes.
  const boundedFetch = ((input: Parameters<typeof fetch>[0], init?: RequestInit) =>
    http.fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs) })) as typeof fetch;
  const dctx: DoctorContext = { cfg, now: Date.now, exec: defaultExec, logger, timeoutMs, tcpTimeoutMs: timeoutMs, fetch: boundedFetch };
  if (store) dctx.store = store;
  try {
    dctx.github = createGitHubClient({
      apiUrl: cfg.github.apiUrl, auth: cfg.github.auth, logger, fetch: boundedFetch, retries: 0, maxRateLimitWaitMs: 0,
    }).service;
  } catch {
    // reported by the GitHub checks as "no GitHub client"
  }
  for (const m of modulesIn(cfg)) await m.doctor.prepare?.(dctx);
  try {
    const rows = await runDoctor(dctx, undefined, { onRows: out.onRows });
    out.done(rows);
    if (anyFailed(rows)) ctx.exitCode = 1;
  } finally {
    store?.close();
    // destroy, not close: a request to a black hole must not hold the process open.
    await http.destroy().catch(() => undefined);
  }
}

function tryOpen(dataDir: string) {
  try {
    return openStore(dataDir);
  } catch {
    return undefined; // the data-dir check reports permission problems
  }
}
