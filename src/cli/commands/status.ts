import type { Command } from 'commander';
import { controlSocketPath } from '../../api/socket.js';
import { createApiClient } from '../../api/client.js';
import { statusFromStore } from '../../api/status.js';
import type { PoolStatus, StatusReport } from '../../api/types.js';
import { describeError, FleetError, isFleetError } from '../../errors.js';
import { openStoreReadOnly } from '../../store/index.js';
import type { CliContext } from '../context.js';

type Source = 'daemon' | 'database';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description("pools and runners from the running daemon's API (falls back to the state database)")
    .option('--json', 'print JSON (the API report plus "source": "daemon" | "database")')
    .action(async (opts: { json?: boolean }) => {
      const cfg = await ctx.loadConfig();
      const client = createApiClient({ listen: cfg.api.listen, socketPath: controlSocketPath(cfg.host.dataDir), ...(cfg.api.token ? { token: cfg.api.token } : {}), timeoutMs: 5000 });
      let report: StatusReport;
      let source: Source = 'daemon';
      try {
        report = await client.status();
      } catch (err) {
        if (!isFleetError(err, 'DAEMON_UNREACHABLE')) throw err;
        ctx.stderr.write(`runner-fleet: ${describeError(err)}; showing the state database instead (may be stale)\n`);
        report = fromDatabase(cfg.host.dataDir, () => statusFromStoreAt(cfg, ctx.version));
        source = 'database';
      }
      ctx.stdout.write(opts.json ? JSON.stringify({ ...report, source }, null, 2) + '\n' : renderStatus(report, source, client.baseUrl));
    });
}

function statusFromStoreAt(cfg: Parameters<typeof statusFromStore>[0], version: string): StatusReport {
  const store = openStoreReadOnly(cfg.host.dataDir);
  try {
    return statusFromStore(cfg, store, version);
  } finally {
    store.close();
  }
}

function fromDatabase(dataDir: string, read: () => StatusReport): StatusReport {
  try {
    return read();
  } catch (err) {
    throw new FleetError('DAEMON_UNREACHABLE', `the daemon is down and the state database in ${dataDir} cannot be read`, { cause: err });
  }
}

export function renderStatus(r: StatusReport, source: Source, baseUrl: string, now = Date.now()): string {
  const out: string[] = [];
  const from = source === 'daemon' ? `daemon at ${baseUrl}` : 'state database (daemon not running)';
  out.push(`host ${r.host}, runner-fleet ${r.version} (from ${from})${r.draining ? ', DRAINING' : ''}`, '');
  out.push(...table(['POOL', 'BACKEND', 'SCOPE', 'DESIRED', 'ACTUAL', 'HEALTHY'], r.pools.map((p) => [
    p.name, p.backend, p.scope, String(p.desired), String(p.actual), p.healthy ? 'yes' : `no${p.error ? `: ${p.error}` : ''}`,
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
    out.push('', `github: ${r.github.requests} requests, rate limit remaining ${rl ?? 'unknown'}`);
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

function renderRunners(p: PoolStatus, now: number): string[] {
  if (!p.runners.length) return renderExits(p, now);
  const rows = p.runners.map((x) => [
    x.name, x.state, x.busy ? 'yes' : 'no', x.githubId === null ? '-' : String(x.githubId), x.version ?? '-',
    x.startedAt ? `${duration(now - x.startedAt)} ago` : '-',
  ]);
  return ['', `pool ${p.name}:`, ...table(['RUNNER', 'STATE', 'BUSY', 'GITHUB ID', 'VERSION', 'STARTED'], rows).map((l) => `  ${l}`), ...renderExits(p, now)];
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
