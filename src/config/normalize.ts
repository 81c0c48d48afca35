import type { RawConfig, RawNetworkOverride, RawPool } from './schema.js';
import { parseHostPort } from './schema.js';
import { moduleOf } from '../backends/index.js';
import type { Secrets } from './secrets.js';
import { resolvePath } from './secrets.js';
import { DEFAULT_CAPACITY, type FleetConfig, type GitHubAuth, type NetworkConfig, type PoolConfig, type Scope, type ToolConfig } from './types.js';

/**
 * Schema output (already cross-checked) → the FleetConfig everything else reads.
 * Only called when there are no issues, so the invariants the checks enforce hold here.
 */
export function normalize(raw: RawConfig, ctx: { source: string; baseDir: string; hostName: string; secrets: Secrets }): FleetConfig {
  const abs = (p: string): string => resolvePath(ctx.baseDir, p);
  const githubUrl = raw.github.url.replace(/\/+$/, '');
  const network = globalNetwork(raw.network, abs);
  const listen = parseHostPort(raw.api.listen) ?? { host: '127.0.0.1', port: 8484 };
  return {
    source: ctx.source,
    host: {
      name: ctx.hostName,
      dataDir: abs(raw.host.dataDir),
      capacity: {
        minFreeDisk: raw.host.capacity.minFreeDisk ?? DEFAULT_CAPACITY.minFreeDisk,
        minFreeMemory: raw.host.capacity.minFreeMemory ?? DEFAULT_CAPACITY.minFreeMemory,
        ...(raw.host.capacity.cpus !== undefined ? { cpus: raw.host.capacity.cpus } : {}),
      },
    },
    github: { url: githubUrl, apiUrl: (raw.github.apiUrl ?? defaultApiUrl(githubUrl)).replace(/\/+$/, ''), auth: auth(raw, ctx.secrets) },
    runner: {
      version: raw.runner.version.replace(/^v(?=\d)/, ''),
      ...(raw.runner.url ? { url: raw.runner.url } : {}),
      ...(raw.runner.sha256 ? { sha256: raw.runner.sha256 } : {}),
      updateSchedule: raw.runner.updateSchedule,
    },
    tokens: { refreshSchedule: raw.tokens.refreshSchedule },
    tools: raw.tools.map(tool),
    network,
    api: {
      listen,
      ...(ctx.secrets.apiToken ? { token: ctx.secrets.apiToken } : {}),
      ...(ctx.secrets.webhookSecret ? { webhookSecret: ctx.secrets.webhookSecret } : {}),
    },
    reconcile: { intervalMs: raw.reconcile.interval },
    shutdown: { mode: raw.shutdown.mode, drainTimeoutMs: raw.shutdown.drainTimeout },
    pools: raw.pools.map((p) => pool(p, network, abs)),
  };
}

/** github.com → api.github.com; GHES serves the API under /api/v3 of its own host. */
export function defaultApiUrl(githubUrl: string): string {
  const u = new URL(githubUrl);
  if (u.hostname === 'github.com' || u.hostname === 'www.github.com') return 'https://api.github.com';
  return `${githubUrl.replace(/\/+$/, '')}/api/v3`;
}

function auth(raw: RawConfig, secrets: Secrets): GitHubAuth {
  const app = raw.github.auth.app;
  if (app) return { kind: 'app', appId: app.appId, installationId: app.installationId, privateKey: secrets.appPrivateKey ?? '' };
  return { kind: 'token', token: secrets.githubToken ?? '' };
}

function tool(t: RawConfig['tools'][number]): ToolConfig {
  const out: ToolConfig = { name: t.name, version: t.version, url: t.url, archive: t.archive };
  if (t.sha256) out.sha256 = t.sha256;
  if (t.checksumUrl) out.checksumUrl = t.checksumUrl;
  if (t.binary) out.binary = t.binary;
  if (t.archMap) out.archMap = { ...t.archMap };
  if (t.versionCommand) out.versionCommand = [...t.versionCommand];
  return out;
}

function globalNetwork(n: RawConfig['network'], abs: (p: string) => string): NetworkConfig {
  const out: NetworkConfig = { dns: [...n.dns], extraHosts: { ...n.extraHosts }, checks: [...n.checks] };
  if (n.proxy) out.proxy = stripUndefined(n.proxy);
  if (n.caFile) out.caFile = abs(n.caFile);
  return out;
}

/** Key by key: what the pool sets wins, null clears, the rest comes from the global section. */
export function mergeNetwork(base: NetworkConfig, o: RawNetworkOverride | undefined, abs: (p: string) => string): NetworkConfig {
  const out: NetworkConfig = { ...base, dns: [...base.dns], extraHosts: { ...base.extraHosts }, checks: [...base.checks] };
  if (!o) return out;
  if (o.proxy === null) delete out.proxy;
  else if (o.proxy) out.proxy = stripUndefined(o.proxy);
  if (o.caFile === null) delete out.caFile;
  else if (o.caFile) out.caFile = abs(o.caFile);
  if (o.dns) out.dns = [...o.dns];
  if (o.extraHosts) out.extraHosts = { ...o.extraHosts };
  if (o.checks) out.checks = [...o.checks];
  return out;
}

function scope(s: RawPool['scope']): Scope {
  if (s.org) return { kind: 'org', org: s.org };
  if (s.repo) {
    const [owner = '', repo = ''] = s.repo.split('/');
    return { kind: 'repo', owner, repo };
  }
  return { kind: 'enterprise', enterprise: s.enterprise ?? '' };
}

function pool(p: RawPool, network: NetworkConfig, abs: (path: string) => string): PoolConfig {
  const section = (p as unknown as Record<string, Record<string, unknown> | undefined>)[p.backend];
  const cpus = p.limits?.cpus ?? moduleOf(p.backend).sectionCpus?.(section);
  return {
    ...p,
    ...(cpus !== undefined ? { cpusPerRunner: cpus } : {}),
    scope: scope(p.scope),
    labels: [...p.labels],
    env: { ...p.env },
    secretEnv: Object.fromEntries(Object.entries(p.secretEnv).map(([k, v]) => [k, abs(v)])),
    network: mergeNetwork(network, p.network, abs),
  };
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
