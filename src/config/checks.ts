import { availableParallelism } from 'node:os';
import { backendModules } from '../backends/index.js';
import type { HostProbePaths } from '../backends/module.js';
import { RUNNER_NAME_MAX, SUFFIX_LEN } from './names.js';
import { isSystemDir } from '../store/files.js';
import { formatPath, type Path } from './positions.js';
import { parseHostPort } from './schema.js';
import { isLoopback } from './loopback.js';

/**
 * Rules that span fields. They read the raw (interpolated) YAML defensively, so they run even
 * when the schema rejects other parts of the file: validate reports every problem in one go.
 * Field formats (types, regexes, cron, durations) are the schema's job and are not repeated.
 */
export type Report = (path: Path, message: string, at?: 'key' | 'value') => void;
type Obj = Record<string, unknown>;

const obj = (v: unknown): Obj | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
/** Set means present and not empty, matching the schema's optional(): `${VAR:-}` counts as unset. */
const has = (o: Obj | undefined, k: string): boolean => o !== undefined && o[k] !== undefined && o[k] !== null && o[k] !== '';


export function crossChecks(raw: unknown, hostName: string, report: Report, host: HostProbePaths = {}): void {
  const root = obj(raw);
  if (!root) return;
  checkAuth(obj(obj(root.github)?.auth), report);
  checkRunner(obj(root.runner), report);
  checkDataDir(obj(root.host), report);
  checkApi(obj(root.api), report);
  checkTools(arr(root.tools), report);
  const pools = arr(root.pools);
  checkUnique(pools, 'pools', 'pool', report);
  pools.forEach((p, i) => checkPool(obj(p), ['pools', i], obj(root.network), hostName, report, host));
  checkCpuBudget(obj(obj(root.host)?.capacity)?.cpus, pools, report);
}

/** The raw YAML's per-runner CPU limit of a pool (limits.cpus, else docker.cpus on Docker) and where it is set. */
export function rawRunnerCpus(pool: Obj | undefined, at: Path): { cpus: number; at: Path } | undefined {
  const n = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' && /^\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : undefined);
  const fromLimits = n(obj(pool?.limits)?.cpus);
  if (fromLimits !== undefined) return { cpus: fromLimits, at: [...at, 'limits', 'cpus'] };
  const declared = pool?.backend;
  const kind = typeof declared === 'string' ? declared : 'process';
  const fromSection = backendModules.get(kind as never)?.sectionCpus?.(obj(pool?.[kind]));
  return fromSection === undefined ? undefined : { cpus: fromSection, at: [...at, kind, 'cpus'] };
}

/** A runner that needs more CPUs than the whole budget could never start: say so now, not at 3 a.m. */
function checkCpuBudget(raw: unknown, pools: unknown[], report: Report): void {
  const budget = raw === 'auto' ? availableParallelism() : typeof raw === 'number' ? raw : undefined;
  if (budget === undefined || budget <= 0) return;
  pools.forEach((p, i) => {
    const c = rawRunnerCpus(obj(p), ['pools', i]);
    if (c && c.cpus > budget) {
      report(c.at, `one runner needs ${c.cpus} CPUs, more than host.capacity.cpus ${raw === 'auto' ? `auto (${budget}, this host's CPU count)` : budget}: the pool could never start a runner`);
    }
  });
}

function exactlyOne(o: Obj | undefined, keys: string[], path: Path, what: string, report: Report): void {
  const set = keys.filter((k) => has(o, k));
  if (set.length === 1) return;
  if (set.length === 0) report(path, `missing ${what}: set one of ${keys.join(', ')}`, 'key');
  else for (const k of set.slice(1)) report([...path, k], `only one of ${set.join(', ')} may be set`, 'key');
}

function atMostOne(o: Obj | undefined, a: string, b: string, path: Path, report: Report): void {
  if (has(o, a) && has(o, b)) report([...path, b], `set either ${a} or ${b}, not both`, 'key');
}

function checkAuth(auth: Obj | undefined, report: Report): void {
  const path = ['github', 'auth'];
  if (typeof auth?.token === 'string' && auth.token.trim() === '' && !has(auth, 'tokenFile') && !has(auth, 'app')) {
    report([...path, 'token'], 'is empty (is the environment variable set?)');
  } else {
    exactlyOne(auth, ['token', 'tokenFile', 'app'], path, 'GitHub credentials', report);
  }
  const app = obj(auth?.app);
  if (app) exactlyOne(app, ['privateKey', 'privateKeyFile'], [...path, 'app'], 'GitHub App key', report);
}

function checkRunner(runner: Obj | undefined, report: Report): void {
  if (has(runner, 'url') && !has(runner, 'sha256')) {
    report(['runner', 'url'], 'a custom runner url requires runner.sha256', 'key');
  }
  const version = runner?.version;
  if (typeof version === 'string' && version !== 'latest' && !/^v?\d+\.\d+\.\d+$/.test(version)) {
    report(['runner', 'version'], 'expected "latest" or a version such as 2.330.0');
  }
  if (has(runner, 'sha256') && (version === undefined || version === 'latest')) {
    report(['runner', 'sha256'], 'a fixed sha256 needs a pinned runner.version, not "latest"', 'key');
  }
}

function checkDataDir(host: Obj | undefined, report: Report): void {
  const dir = host?.dataDir;
  // Relative paths resolve against the config file later; only an absolute one can be judged here.
  if (typeof dir === 'string' && dir.startsWith('/') && isSystemDir(dir)) {
    report(['host', 'dataDir'], `${dir} is a system directory; the daemon would take it over (DATA_DIR_UNSAFE): use a directory of its own, e.g. /var/lib/runner-fleet`);
  }
}

function checkApi(api: Obj | undefined, report: Report): void {
  atMostOne(api, 'token', 'tokenFile', ['api'], report);
  atMostOne(api, 'webhookSecret', 'webhookSecretFile', ['api'], report);
  const listen = typeof api?.listen === 'string' ? parseHostPort(api.listen) : undefined;
  // Status (pools, runner names, token expiry) would be open to the network (CONTRACT §7).
  if (listen && !isLoopback(listen.host) && !has(api, 'token') && !has(api, 'tokenFile')) {
    report(['api', 'listen'], `listens beyond loopback (${listen.host}) without api.token: set api.token (or api.tokenFile), or listen on 127.0.0.1`);
  }
}

/** 127.0.0.0/8, ::1 (also IPv4-mapped), localhost. A wildcard (0.0.0.0, ::) is every interface. */

function checkTools(tools: unknown[], report: Report): void {
  checkUnique(tools, 'tools', 'tool', report);
  tools.forEach((t, i) => {
    const tool = obj(t);
    if (tool) exactlyOne(tool, ['sha256', 'checksumUrl'], ['tools', i], 'tool checksum', report);
    const url = tool?.url;
    if (typeof url === 'string') {
      for (const m of url.matchAll(/\{([^}]*)\}/g)) {
        if (!['version', 'os', 'arch'].includes(m[1] ?? '')) {
          report(['tools', i, 'url'], `unknown placeholder {${m[1]}} (use {version}, {os}, {arch})`);
        }
      }
    }
  });
}

function checkUnique(items: unknown[], list: string, what: string, report: Report): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const n = obj(item)?.name;
    if (typeof n !== 'string') return;
    const first = seen.get(n);
    if (first === undefined) seen.set(n, i);
    else report([list, i, 'name'], `duplicate ${what} name "${n}" (first used by ${list}[${first}])`);
  });
}

function checkPool(pool: Obj | undefined, path: Path, globalNet: Obj | undefined, host: string, report: Report, probe: HostProbePaths): void {
  if (!pool) return;
  checkScope(obj(pool.scope), [...path, 'scope'], report);
  exactlyOne(pool, ['size', 'scale'], path, 'pool size', report);
  const scale = obj(pool.scale);
  if (typeof scale?.minIdle === 'number' && typeof scale.max === 'number' && scale.minIdle > scale.max) {
    report([...path, 'scale', 'minIdle'], `minIdle (${scale.minIdle}) must not exceed max (${scale.max})`);
  }
  // Scale-set runners are JIT runners: one job each.
  if (scale?.via === 'scaleset' && pool.ephemeral === false) {
    report([...path, 'ephemeral'], 'a scale.via: scaleset pool is ephemeral (one JIT runner per job); remove ephemeral: false or use via: webhook');
  }
  if (typeof pool.name === 'string') {
    const len = host.length + pool.name.length + 2 + SUFFIX_LEN;
    if (len > RUNNER_NAME_MAX) {
      report([...path, 'name'], `runner names "${host}-${pool.name}-<suffix>" would be ${len} characters; GitHub allows ${RUNNER_NAME_MAX}`);
    }
  }
  checkBackend(pool, path, globalNet, report, probe);
}

function checkScope(scope: Obj | undefined, path: Path, report: Report): void {
  exactlyOne(scope, ['org', 'repo', 'enterprise'], path, 'scope', report);
}

/**
 * A backend needs its own section and must be able to apply what it is given. Another
 * backend's section is only a warning (configWarnings): the contract's own example keeps one.
 */
function checkBackend(pool: Obj, path: Path, globalNet: Obj | undefined, report: Report, probe: HostProbePaths): void {
  const declared = pool.backend;
  const backend = typeof declared === 'string' ? declared : 'process';
  const mod = backendModules.get(backend as never);
  if (mod?.requires && !has(pool, mod.kind)) report([...path, 'backend'], `backend ${backend} requires ${mod.requires}`);
  const limits = obj(pool.limits);
  const noLimits = limits && Object.keys(limits).length ? mod?.cannotApplyLimits?.(limits, probe) : undefined;
  if (noLimits) report([...path, 'limits'], `pool "${String(pool.name)}" sets limits, but ${noLimits}`, 'key');
  // An unknown backend is the schema's to report; it cannot apply anything either.
  const why = mod ? mod.cannotApplyHostEntries(pool) : `backend ${backend}`;
  if (why === undefined) return;
  const own = obj(pool.network);
  for (const key of ['dns', 'extraHosts'] as const) {
    const fromPool = own !== undefined && key in own && own[key] !== null;
    const value = fromPool ? own[key] : globalNet?.[key];
    const empty = Array.isArray(value) ? value.length === 0 : Object.keys(obj(value) ?? {}).length === 0;
    if (empty) continue;
    const where: Path = fromPool ? [...path, 'network', key] : ['network', key];
    const hint = fromPool ? '' : ` (inherited from network.${key}; set ${formatPath([...path, 'network', key])} to empty)`;
    report(where, `pool "${String(pool.name)}" uses ${why}, which cannot apply ${key}${hint}`, 'key');
  }
}
