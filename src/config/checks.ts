import { formatPath, type Path } from './positions.js';

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

/** Suffix length of generated runner names (names.ts); GitHub caps runner names at 64. */
export const SUFFIX_LEN = 8;
export const RUNNER_NAME_MAX = 64;

export function crossChecks(raw: unknown, hostName: string, report: Report): void {
  const root = obj(raw);
  if (!root) return;
  checkAuth(obj(obj(root.github)?.auth), report);
  checkRunner(obj(root.runner), report);
  checkApi(obj(root.api), report);
  checkTools(arr(root.tools), report);
  const pools = arr(root.pools);
  checkUnique(pools, 'pools', 'pool', report);
  pools.forEach((p, i) => checkPool(obj(p), ['pools', i], obj(root.network), hostName, report));
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

function checkApi(api: Obj | undefined, report: Report): void {
  atMostOne(api, 'token', 'tokenFile', ['api'], report);
  atMostOne(api, 'webhookSecret', 'webhookSecretFile', ['api'], report);
}

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

function checkPool(pool: Obj | undefined, path: Path, globalNet: Obj | undefined, host: string, report: Report): void {
  if (!pool) return;
  checkScope(obj(pool.scope), [...path, 'scope'], report);
  exactlyOne(pool, ['size', 'scale'], path, 'pool size', report);
  const scale = obj(pool.scale);
  if (typeof scale?.minIdle === 'number' && typeof scale.max === 'number' && scale.minIdle > scale.max) {
    report([...path, 'scale', 'minIdle'], `minIdle (${scale.minIdle}) must not exceed max (${scale.max})`);
  }
  if (typeof pool.name === 'string') {
    const len = host.length + pool.name.length + 2 + SUFFIX_LEN;
    if (len > RUNNER_NAME_MAX) {
      report([...path, 'name'], `runner names "${host}-${pool.name}-<suffix>" would be ${len} characters; GitHub allows ${RUNNER_NAME_MAX}`);
    }
  }
  checkBackend(pool, path, globalNet, report);
}

function checkScope(scope: Obj | undefined, path: Path, report: Report): void {
  exactlyOne(scope, ['org', 'repo', 'enterprise'], path, 'scope', report);
}

/** Backend sections must match the backend, and a backend must be able to apply what it is given. */
function checkBackend(pool: Obj, path: Path, globalNet: Obj | undefined, report: Report): void {
  const backend = typeof pool.backend === 'string' ? pool.backend : 'process';
  if (has(pool, 'docker') && backend !== 'docker') {
    report([...path, 'docker'], `a docker section needs backend: docker (this pool is ${backend})`, 'key');
  }
  if (has(pool, 'systemd') && backend !== 'systemd') {
    report([...path, 'systemd'], `a systemd section needs backend: systemd (this pool is ${backend})`, 'key');
  }
  if (backend === 'docker' && !has(pool, 'docker')) report([...path, 'backend'], 'backend docker requires docker.image');
  if (backend === 'systemd' && !has(pool, 'systemd')) report([...path, 'backend'], 'backend systemd requires systemd.user');
  const docker = obj(pool.docker);
  const sharesNetns = typeof docker?.network === 'string' && docker.network.startsWith('container:');
  // docker (container) and systemd (bind-mounted resolv.conf/hosts) apply them; process runners cannot.
  if ((backend === 'docker' && !sharesNetns) || backend === 'systemd') return;
  const why = backend === 'docker' ? 'docker network "container:..." (it shares another container\'s resolv.conf and hosts)' : `backend ${backend}`;
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
