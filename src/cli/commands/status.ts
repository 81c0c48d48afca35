import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { controlSocketPath } from '../../api/socket.js';
import { createApiClient, type ApiClient } from '../../api/client.js';
import { statusFromStore } from '../../api/status.js';
import type { PoolStatus, StatusReport } from '../../api/types.js';
import { scopeKey } from '../../config/names.js';
import { atRest } from '../../reconcile/states.js';
import type { FleetConfig } from '../../config/types.js';
import { describeError, isFleetError } from '../../errors.js';
import { DB_FILE, openStoreReadOnly } from '../../store/index.js';
import type { CliContext } from '../context.js';
import { durationOption } from '../options.js';

/** daemon: live from its API; database: as last recorded (daemon down); none: nothing to read. */
type Source = 'daemon' | 'database' | 'none';

/**
 * The contract has exit codes 0/1/2 only and says status falls back to the state database:
 * that answer is a success (0); with no database either there is nothing to report (1).
 * Whether the daemon runs is `daemon.running` in --json and NOT RUNNING in the text.
 */
const EXIT_NOTHING_RECORDED = 1;

export function register(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description("pools and runners from the running daemon's API (falls back to the state database)")
    .option('--json', 'print JSON (the API report plus "source": "daemon" | "database" | "none" and "daemon": {running, url})')
    .option('--timeout <duration>', 'how long to wait for the daemon to answer (default 5s)')
    .addHelpText('after', '\nExit 0 the daemon or, when it is down, the state database answered (health unknown; --json daemon.running false); 1 neither (no state database yet) or other failures; 2 config errors.')
    .action(async (opts: { json?: boolean; timeout?: string }) => {
      const timeoutMs = opts.timeout === undefined ? 5000 : durationOption('--timeout', opts.timeout);
      const cfg = await ctx.loadConfig();
      const client = createApiClient({ listen: cfg.api.listen, socketPath: controlSocketPath(cfg.host.dataDir), ...(cfg.api.token ? { token: cfg.api.token } : {}), timeoutMs });
      const got = await gather(cfg, client, ctx.version);
      if (got.source === 'none') ctx.exitCode = EXIT_NOTHING_RECORDED;
      const daemon = { running: got.source === 'daemon', url: client.baseUrl, ...(got.why ? { detail: got.why } : {}) };
      ctx.stdout.write(opts.json ? JSON.stringify({ ...got.report, source: got.source, daemon }, null, 2) + '\n' : renderStatus(got.report, got.source, client.baseUrl, Date.now(), got.why));
    });
}

async function gather(cfg: FleetConfig, client: ApiClient, version: string): Promise<{ report: StatusReport; source: Source; why?: string }> {
  try {
    return { report: await client.status(), source: 'daemon' };
  } catch (err) {
    if (!isFleetError(err, 'DAEMON_UNREACHABLE')) throw err;
  }
  if (!fs.existsSync(path.join(cfg.host.dataDir, DB_FILE))) {
    return { report: configOnly(cfg, version), source: 'none', why: `no state database in ${cfg.host.dataDir} yet: the daemon has not run on this host` };
  }
  try {
    const store = openStoreReadOnly(cfg.host.dataDir);
    try {
      return { report: statusFromStore(cfg, store, version), source: 'database' };
    } finally {
      store.close();
    }
  } catch (err) {
    return { report: configOnly(cfg, version), source: 'none', why: `the state database cannot be read: ${describeError(err)}` };
  }
}

/** Only what the config says: pools and their desired size; everything live is unknown. */
function configOnly(cfg: FleetConfig, version: string): StatusReport {
  return {
    host: cfg.host.name,
    version,
    pools: cfg.pools.map((p) => ({ name: p.name, backend: p.backend, scope: scopeKey(p.scope), desired: atRest(p), actual: 0, healthy: null, runners: [] })),
    tokens: [],
    tools: [],
    networkChecks: [],
    github: { rateLimitRemaining: null, requests: 0 },
  };
}

export function renderStatus(r: StatusReport, source: Source, baseUrl: string, now = Date.now(), why?: string): string {
  const out: string[] = [];
  if (source === 'daemon') out.push(`host ${r.host}, runner-fleet ${r.version}: daemon running at ${baseUrl}${r.draining ? ', DRAINING (all pools)' : ''}`, '');
  else {
    out.push(`host ${r.host}: the runner-fleet daemon is NOT RUNNING (nothing answers at ${baseUrl}); pool health unknown`);
    out.push(source === 'database' ? 'pools and runners as last recorded in the state database (may be stale):' : `${why ?? 'no state database'}; pools as configured:`, '');
  }
  const health = (p: PoolStatus) => (p.healthy === null ? 'unknown' : p.healthy ? 'yes' : 'no');
  out.push(...table(['POOL', 'BACKEND', 'SCOPE', 'DESIRED', 'ACTUAL', 'DRAINING', 'HEALTHY'], r.pools.map((p) => [
    p.name, p.backend, p.scope, String(p.desired), source === 'none' ? '-' : String(p.actual), p.draining === undefined ? '-' : p.draining ? 'yes' : 'no',
    `${health(p)}${p.error ? `: ${p.error}` : ''}`,
  ])));
  for (const p of r.pools) if (p.hint) out.push(`  ${p.name}: ${p.errorCode ?? 'error'}: check: ${p.hint}`);
  for (const p of r.pools) out.push(...renderRunners(p, now));
  if (r.tokens.length) {
    out.push('', 'tokens:');
    for (const t of r.tokens) out.push(`  ${t.scope} ${t.kind}: ${t.expiresAt > now ? `expires in ${duration(t.expiresAt - now)}` : 'EXPIRED'}`);
  }
  if (r.tools.length) {
    out.push('', 'tools:');
    for (const t of r.tools) out.push(`  ${t.name} ${t.version}: ${t.installed ? `installed (sha256 ${(t.sha256 ?? '').slice(0, 12)}…)` : `NOT installed${t.error ? ` (${t.error})` : ''}`}`);
  }
  if (r.networkChecks.length) {
    out.push('', 'network checks:');
    for (const c of r.networkChecks) out.push(`  ${c.target}: ${c.ok ? 'ok' : 'FAILED'}${c.detail ? ` (${c.detail})` : ''}`);
  }
  if (source === 'daemon') {
    const rl = r.github.rateLimitRemaining;
    const svc = r.github.actionsService ? `, ${r.github.actionsService} scale-set service calls` : '';
    out.push('', `github: ${r.github.requests} requests, rate limit remaining ${rl ?? 'unknown'}${svc}`);
  }
  return out.join('\n') + '\n';
}

function renderExits(p: PoolStatus, now: number): string[] {
  if (!p.lastExits?.length) return [];
  const rows = p.lastExits.map((e) => [
    e.runner, `${duration(now - e.at)} ago`, e.cause, e.exitCode === null ? (e.signal ?? '-') : String(e.exitCode), e.meaning,
  ]);
  return ['', `pool ${p.name} last exits:`, ...table(['RUNNER', 'ENDED', 'CAUSE', 'CODE', 'MEANING'], rows).map((l) => `  ${l}`)];
}

function renderScaleSet(p: PoolStatus, now: number): string[] {
  const s = p.scaleSet;
  if (!s) return [];
  const st = s.statistics;
  const poll = s.lastPollAt ? `last poll ${duration(now - s.lastPollAt)} ago` : 'no poll yet';
  const stats = st ? `, assigned ${st.totalAssignedJobs ?? 0}, running ${st.totalRunningJobs ?? 0}, available ${st.totalAvailableJobs ?? 0}` : '';
  return [`  scale set ${s.name}${s.id === null ? '' : ` (id ${s.id})`}: listener ${s.listener}, ${poll}${stats}${s.error ? ` (${s.error})` : ''}`];
}

function renderRunners(p: PoolStatus, now: number): string[] {
  if (!p.runners.length) return p.scaleSet ? ['', `pool ${p.name}:`, ...renderScaleSet(p, now), ...renderExits(p, now)] : renderExits(p, now);
  const rows = p.runners.map((x) => [
    x.name, x.state, x.busy ? 'yes' : 'no', x.githubId === null ? '-' : String(x.githubId), x.version ?? '-',
    x.startedAt ? `${duration(now - x.startedAt)} ago` : '-',
  ]);
  return ['', `pool ${p.name}:`, ...renderScaleSet(p, now), ...table(['RUNNER', 'STATE', 'BUSY', 'GITHUB ID', 'VERSION', 'STARTED'], rows).map((l) => `  ${l}`), ...renderExits(p, now)];
}

function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(head), ...rows.map(line)];
}

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600)}h`;
}
