import { backendModules } from '../backends/index.js';
import { rawRunnerCpus, type Report } from './checks.js';
import type { Path } from './positions.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Above this many runners for one pool on one host, say so: few hosts run that many. */
export const LARGE_POOL = 100;
/** Every runner carries these (plus the arch); GitHub compares labels case-insensitively. */
const DEFAULT_LABELS = ['self-hosted', 'linux', 'x64', 'arm64'];

/**
 * Valid but probably not meant: `validate` prints these (exit 0) so nothing is dropped or
 * accepted silently. Reads the raw YAML like the cross-checks.
 */
export function configWarnings(raw: unknown, warn: Report): void {
  const root = obj(raw);
  if (!root) return;
  const budget = obj(obj(root.host)?.capacity)?.cpus;
  const api = obj(root.api);
  const webhook = Boolean(api?.webhookSecret || api?.webhookSecretFile);
  arr(root.pools).forEach((p, i) => {
    const pool = obj(p);
    if (!pool) return;
    if (budget !== undefined && budget !== null && !rawRunnerCpus(pool, ['pools', i])) {
      warn(['pools', i], `host.capacity.cpus is set but pool "${String(pool.name)}" has no limits.cpus: its runners are not counted against the CPU budget`);
    }
    labels(arr(pool.labels), ['pools', i, 'labels'], warn);
    const scale = obj(pool.scale);
    if (scale && scale.via !== 'scaleset' && !webhook) {
      warn(['pools', i, 'scale'], 'this pool scales on workflow_job webhooks, but POST /webhook is off without api.webhookSecret: it stays at minIdle (set api.webhookSecret, or scale.via: scaleset)', 'key');
    }
    const kind0 = pool.backend;
    const backend = typeof kind0 === 'string' ? kind0 : 'process';
    for (const kind of backendModules.keys()) {
      if (kind !== backend && pool[kind] !== undefined && pool[kind] !== null) {
        warn(['pools', i, kind], `a ${kind} section is ignored: this pool's backend is ${backend}`, 'key');
      }
    }
    const size = pool.size;
    const max = obj(pool.scale)?.max;
    for (const [n, at] of [[size, ['pools', i, 'size']], [max, ['pools', i, 'scale', 'max']]] as [unknown, Path][]) {
      if (typeof n === 'number' && n > LARGE_POOL) {
        warn(at, `${n} runners for one pool on one host: each needs CPU, memory and disk (a runner with a job: 2+ GB); check the host's capacity, or spread the pool over hosts`);
      }
    }
  });
  arr(root.tools).forEach((t, i) => {
    const tool = obj(t);
    if (!tool) return;
    plainHttp(tool.url, ['tools', i, 'url'], tool.sha256 ? 'the download is plain http (sha256 still verifies it, but anyone on the path sees what you fetch)' : undefined, warn);
    plainHttp(tool.checksumUrl, ['tools', i, 'checksumUrl'], 'a checksum fetched over plain http proves nothing: whoever can change the download can change it too; use https or pin sha256', warn);
  });
  const runner = obj(root.runner);
  plainHttp(runner?.url, ['runner', 'url'], 'the runner is downloaded over plain http (runner.sha256 still verifies it)', warn);
}

function labels(list: unknown[], at: Path, warn: Report): void {
  const seen = new Map<string, number>();
  list.forEach((l, i) => {
    if (typeof l !== 'string') return;
    const key = l.toLowerCase();
    if (DEFAULT_LABELS.includes(key)) warn([...at, i], `"${l}" is a default label every runner has; it is dropped here`);
    else if (seen.has(key)) warn([...at, i], `duplicate label "${l}" (same as labels[${seen.get(key)}]; GitHub labels ignore case); it is dropped`);
    else seen.set(key, i);
  });
}

function plainHttp(url: unknown, at: Path, message: string | undefined, warn: Report): void {
  if (typeof url === 'string' && /^http:\/\//i.test(url.trim())) warn(at, message ?? 'plain http download');
}
