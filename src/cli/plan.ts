import { formatDuration } from '../config/duration.js';
import { moduleOf, type BackendPlan } from '../backends/index.js';
import { defaultLabels, expandToolTemplate, runnerLabels, runnerNamePattern, scopeKey, scopeUrl, toolDir, type Arch } from '../config/names.js';
import { rootRefusal } from '../reconcile/pools.js';
import { atRest, maxRunners, viaScaleSet } from '../reconcile/states.js';
import type { FleetConfig, NetworkConfig, PoolConfig, ToolConfig } from '../config/types.js';

/**
 * What the daemon would run on this host, derived from the config alone: no network, no disk,
 * no engine. Runner suffixes are random at run time, so names are shown as `{host}-{pool}-xxxxxxxx`
 * with the exact ownership pattern beside them. Secrets never appear: only whether they are set.
 */
export interface Plan {
  source: string;
  host: { name: string; arch: string; dataDir: string };
  github: { url: string; apiUrl: string; auth: { kind: 'token' } | { kind: 'app'; appId: number; installationId: number } };
  runner: { version: string; download: string; verify: string; cacheDir: string; updateSchedule: string };
  tokens: { refreshSchedule: string };
  api: { listen: string; token: boolean; webhook: boolean };
  reconcile: { interval: string };
  shutdown: { mode: string; drainTimeout: string };
  defaultLabels: string[];
  pools: PoolPlan[];
  tools: ToolPlan[];
}

export interface PoolPlan {
  name: string;
  scope: { kind: string; key: string; url: string };
  runnerGroup: string;
  runners: {
    sizing: 'fixed' | 'scale';
    desired: number;
    max: number;
    minIdle?: number;
    idleTimeout?: string;
    example: string;
    pattern: string;
    dir: string;
  };
  ephemeral: boolean;
  registration: 'jit' | 'config.sh' | 'scaleset';
  /** scale.via: scaleset: the scale set, and the runs-on that reaches its runners. */
  scaleSet?: { name: string; runnerGroup: string; labels: string[]; runsOn: string; capacity: number };
  labels: string[];
  allowPublicRepos: boolean;
  backend: BackendPlan;
  network: NetworkConfig;
  env: Record<string, string>;
  secretEnv: Record<string, string>;
  /** Things that hand a job control of the host; printed loudly. */
  warnings: string[];
}

export type { BackendPlan };

export interface ToolPlan {
  name: string;
  version: string;
  url: string;
  verify: string;
  archive: string;
  dir: string;
}

export const SUFFIX_PLACEHOLDER = 'xxxxxxxx';

export function buildPlan(cfg: FleetConfig, arch: Arch): Plan {
  const { host } = cfg;
  const version = cfg.runner.version;
  return {
    source: cfg.source,
    host: { name: host.name, arch, dataDir: host.dataDir },
    github: {
      url: cfg.github.url,
      apiUrl: cfg.github.apiUrl,
      auth: cfg.github.auth.kind === 'app'
        ? { kind: 'app', appId: cfg.github.auth.appId, installationId: cfg.github.auth.installationId }
        : { kind: 'token' },
    },
    runner: {
      version,
      download: cfg.runner.url
        ? cfg.runner.url.replaceAll('{version}', version).replaceAll('{os}', 'linux').replaceAll('{arch}', arch)
        : `GitHub release for linux-${arch} (${cfg.github.apiUrl} runners/downloads)`,
      verify: cfg.runner.sha256 ? `sha256 ${cfg.runner.sha256}` : 'sha256 published by GitHub (runners/downloads)',
      cacheDir: `${host.dataDir}/cache/runner/${version === 'latest' ? '<latest>' : version}`,
      updateSchedule: cfg.runner.updateSchedule,
    },
    tokens: { refreshSchedule: cfg.tokens.refreshSchedule },
    api: { listen: formatListen(cfg.api.listen), token: cfg.api.token !== undefined, webhook: cfg.api.webhookSecret !== undefined },
    reconcile: { interval: formatDuration(cfg.reconcile.intervalMs) },
    shutdown: { mode: cfg.shutdown.mode, drainTimeout: formatDuration(cfg.shutdown.drainTimeoutMs) },
    defaultLabels: defaultLabels(arch),
    pools: cfg.pools.map((p) => poolPlan(cfg, p, arch)),
    tools: cfg.tools.map((t) => toolPlan(cfg, t, arch)),
  };
}

function formatListen(l: { host: string; port: number }): string {
  return l.host.includes(':') ? `[${l.host}]:${l.port}` : `${l.host}:${l.port}`;
}

function poolPlan(cfg: FleetConfig, p: PoolConfig, arch: Arch): PoolPlan {
  const example = `${cfg.host.name}-${p.name}-${SUFFIX_PLACEHOLDER}`;
  const runners: PoolPlan['runners'] = {
    sizing: p.size !== undefined ? 'fixed' : 'scale',
    desired: atRest(p),
    max: maxRunners(p),
    example,
    pattern: runnerNamePattern(cfg.host.name, p.name).source,
    dir: `${cfg.host.dataDir}/runners/${example}`,
  };
  if (p.scale) {
    runners.minIdle = p.scale.minIdle;
    runners.idleTimeout = formatDuration(p.scale.idleTimeoutMs);
  }
  const backend = moduleOf(p.backend).plan(p, example);
  return {
    name: p.name,
    scope: { kind: p.scope.kind, key: scopeKey(p.scope), url: scopeUrl(cfg.github.url, p.scope) },
    runnerGroup: p.runnerGroup,
    runners,
    ephemeral: p.ephemeral,
    registration: viaScaleSet(p) ? 'scaleset' : p.ephemeral ? 'jit' : 'config.sh',
    ...(viaScaleSet(p) ? { scaleSet: scaleSetPlan(cfg, p) } : {}),
    // Scale-set runners carry the scale set's labels only (GitHub adds no default ones).
    labels: viaScaleSet(p) ? (p.labels.length ? [...p.labels] : [`${cfg.host.name}-${p.name}`]) : runnerLabels(p, arch),
    allowPublicRepos: p.allowPublicRepos,
    backend: backend.backend,
    network: p.network,
    env: { ...p.env },
    secretEnv: { ...p.secretEnv },
    warnings: [...backend.warnings, ...warnings(p)],
  };
}

function scaleSetPlan(cfg: FleetConfig, p: PoolConfig): NonNullable<PoolPlan['scaleSet']> {
  const name = `${cfg.host.name}-${p.name}`;
  const labels = p.labels.length ? [...p.labels] : [name];
  return { name, runnerGroup: p.runnerGroup, labels, runsOn: labels.length === 1 ? labels[0]! : `[${labels.join(', ')}]`, capacity: maxRunners(p) };
}

function warnings(p: PoolConfig): string[] {
  const out: string[] = [];
  if (p.allowPublicRepos) out.push('public repositories allowed: anyone who can open a pull request may run code here');
  if (p.env.RUNNER_ALLOW_RUNASROOT) out.push('RUNNER_ALLOW_RUNASROOT set: runners may run as root');
  const root = rootRefusal(p);
  if (root) out.push(`${root}; until then the daemon starts none (RUNNER_AS_ROOT)`);
  if (!p.ephemeral) out.push('persistent runners: one job can leave state behind for the next');
  return out;
}

function toolPlan(cfg: FleetConfig, t: ToolConfig, arch: Arch): ToolPlan {
  return {
    name: t.name,
    version: t.version,
    url: expandToolTemplate(t.url, t, arch),
    verify: t.sha256 ? `sha256 ${t.sha256}` : `checksums from ${expandToolTemplate(t.checksumUrl ?? '', t, arch)}`,
    archive: t.archive ?? 'auto',
    dir: toolDir(cfg.host.dataDir, t, arch),
  };
}
