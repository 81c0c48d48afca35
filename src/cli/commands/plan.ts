import type { Command } from 'commander';
import { Option } from 'commander';
import { hostArch, type Arch } from '../../config/names.js';
import type { NetworkConfig } from '../../config/types.js';
import type { CliContext } from '../context.js';
import { moduleOf } from '../../backends/index.js';
import { buildPlan, type Plan, type PoolPlan } from '../plan.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('plan')
    .description('print what the daemon would run on this host (pools, runner names, labels, backends, tools); no side effects')
    .option('--json', 'print stable JSON instead of text')
    .addOption(new Option('--arch <arch>', 'plan for another architecture').choices(['x64', 'arm64', 'arm']))
    .addHelpText('after', '\nRunner name suffixes are random per runner; the plan shows them as xxxxxxxx, with the ownership pattern.')
    .action(async (opts: { json?: boolean; arch?: Arch }) => {
      const cfg = await ctx.loadConfig();
      const plan = buildPlan(cfg, opts.arch ?? hostArch());
      ctx.stdout.write(opts.json ? JSON.stringify(plan, null, 2) + '\n' : renderPlan(plan));
    });
}

export function renderPlan(plan: Plan): string {
  const out: string[] = [];
  out.push(`runner-fleet plan for host ${plan.host.name} (${plan.host.arch}) from ${plan.source}`, '');
  const auth = plan.github.auth.kind === 'app'
    ? `GitHub App ${plan.github.auth.appId} (installation ${plan.github.auth.installationId})`
    : 'token';
  out.push(
    ...kv([
      ['data dir', plan.host.dataDir],
      ['github', `${plan.github.url} (API ${plan.github.apiUrl}), auth: ${auth}`],
      ['runner', `${plan.runner.version}: ${plan.runner.download}`],
      ['', `verified by ${plan.runner.verify}; cached in ${plan.runner.cacheDir}`],
      ['', `update check "${plan.runner.updateSchedule}"; token refresh "${plan.tokens.refreshSchedule}"`],
      ['api', `${plan.api.listen} (bearer token: ${plan.api.token ? 'set' : 'none'}, webhook: ${plan.api.webhook ? 'on' : 'off'})`],
      ['reconcile', `every ${plan.reconcile.interval}; shutdown: ${plan.shutdown.mode} (timeout ${plan.shutdown.drainTimeout})`],
    ], '  '),
  );
  for (const p of plan.pools) out.push('', ...renderPool(p));
  out.push('', ...renderTools(plan));
  return out.join('\n') + '\n';
}

function renderPool(p: PoolPlan): string[] {
  const r = p.runners;
  const count = r.sizing === 'fixed'
    ? `${r.desired} × ${r.example} (fixed size)`
    : `${r.minIdle ?? 0} idle, up to ${r.max} × ${r.example} (scale; idle above minIdle removed after ${r.idleTimeout})`;
  const rows: Array<[string, string]> = [
    ['scope', `${p.scope.key} (${p.scope.url}), runner group ${p.runnerGroup}`],
    ['runners', count],
    ['', `owns names matching ${r.pattern}; dirs ${r.dir}`],
    ['mode', p.ephemeral ? 'ephemeral: one job per runner, just-in-time config' : 'persistent: registered once with config.sh'],
    ...(p.scaleSet
      ? ([
          ['scale set', `${p.scaleSet.name} in runner group ${p.scaleSet.runnerGroup}, long poll advertising capacity ${p.scaleSet.capacity} (no webhook)`],
          ['', `workflows target it with runs-on: ${p.scaleSet.runsOn} (its runners get no default labels)`],
        ] as Array<[string, string]>)
      : []),
    ['labels', p.labels.join(', ')],
    ['public repos', p.allowPublicRepos ? 'allowed' : 'refused'],
    ...moduleOf(p.backend.kind).planRows(p.backend),
    ...networkRows(p.network),
    ['env', Object.entries(p.env).map(([k, v]) => `${k}=${v}`).join(' ') || '-'],
    ['secretEnv', Object.entries(p.secretEnv).map(([k, f]) => `${k} (from ${f})`).join(', ') || '-'],
  ];
  return [`pool ${p.name}`, ...kv(rows, '  '), ...p.warnings.map((w) => `  WARNING: ${w}`)];
}

function networkRows(n: NetworkConfig): Array<[string, string]> {
  const proxy = n.proxy
    ? [n.proxy.http && `http ${n.proxy.http}`, n.proxy.https && `https ${n.proxy.https}`, n.proxy.noProxy && `no_proxy ${n.proxy.noProxy}`].filter(Boolean).join(', ')
    : 'none';
  const hosts = Object.entries(n.extraHosts).map(([h, ip]) => `${h}=${ip}`).join(' ');
  return [
    ['proxy', proxy || 'none'],
    ['CA file', n.caFile ?? 'none'],
    ['dns', n.dns.join(', ') || 'default'],
    ['extra hosts', hosts || 'none'],
    ['checks', n.checks.join(', ') || 'none'],
  ];
}

function renderTools(plan: Plan): string[] {
  if (plan.tools.length === 0) return ['tools: none'];
  const out = [`tools (${plan.host.arch})`];
  for (const t of plan.tools) {
    out.push(`  ${t.name} ${t.version}`, ...kv([['url', t.url], ['verify', t.verify], ['archive', t.archive], ['dir', t.dir]], '    '));
  }
  return out;
}

function kv(rows: Array<[string, string]>, indent: string): string[] {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${indent}${k.padEnd(width)}  ${v}`);
}
