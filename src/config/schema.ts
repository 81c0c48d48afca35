import { isIP } from 'node:net';
import { z } from 'zod';
import cron from 'node-cron';
import { parseCron } from './cron.js';
import { backendModules } from '../backends/index.js';
import { parseDuration } from './duration.js';
import type { ScaleConfig, Sizing } from './types.js';

/**
 * The YAML shape, strict: an unknown key anywhere is an error. Field-level formats live here;
 * rules that span fields (exactly one scope, size xor scale, backend sections...) are in
 * checks.ts so they run even when this schema rejects something else in the same file.
 */

/** A YAML `key:` with nothing after it is null; treat it as an empty section. */
const section = <T extends z.ZodType>(s: T) => z.preprocess((v) => v ?? {}, s);
/** Optional keys: null or "" (e.g. `${HTTP_PROXY:-}`) mean "not set". */
const optional = <T extends z.ZodType>(s: T) => z.preprocess((v) => (v === null || v === '' ? undefined : v), s.optional());

// `${N:-2}` yields the string "2"; numbers and booleans accept their string spelling.
const num = z.preprocess((v) => (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : v), z.number());
const int = z.preprocess((v) => (typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v), z.number().int());
const bool = z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());

const text = z.string().min(1, { error: 'must not be empty' });

/**
 * Values that reach a systemd unit file or the runner's `.env`: a line break there would add
 * lines of the author's choosing (ExecStartPre=, User=root), so no control characters but tab.
 */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;
const oneLine = <T extends z.ZodType<string>>(s: T) =>
  s.refine((v) => !CONTROL.test(v), { error: 'must not contain line breaks or other control characters' });
const plainText = oneLine(text);
/** POSIX-ish user/group names (useradd's rule, plus the dots systemd accepts), or a numeric id. */
const unixName = z.string().regex(/^(?:[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?|\d+)$/, {
  error: 'not a valid user or group name (letters, digits, "_", "-", "."; or a numeric id)',
});
const secret = z.string();

export function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

const httpUrl = text.refine(isHttpUrl, { error: 'must be an absolute http(s) URL' });

export function isValidCron(expr: string): boolean {
  // Both libraries must accept it: cron-parser alone lets through short forms node-cron rejects.
  try {
    parseCron(expr);
  } catch {
    return false;
  }
  return cron.validate(expr);
}

const cronExpr = text.refine(isValidCron, { error: 'not a valid cron expression (e.g. "0 4 * * *")' });

const duration = z
  .string({ error: 'expected a duration such as 500ms, 10s, 5m or 1h30m' })
  .refine((s) => parseDuration(s) !== undefined, { error: 'not a duration (use e.g. 500ms, 10s, 5m, 1h30m)' })
  .transform((s) => parseDuration(s) ?? 0);

const sha256 = z
  .string()
  .regex(/^[a-fA-F0-9]{64}$/, { error: 'must be a SHA-256 digest: 64 hex characters' })
  .transform((s) => s.toLowerCase());

/** `host:port` or `[v6]:port`. */
export function parseHostPort(s: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(s.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: (m[1] ?? m[2]) as string, port };
}

const hostPort = text.refine((s) => parseHostPort(s) !== undefined, { error: 'expected host:port (e.g. 127.0.0.1:8484)' });
const ip = text.refine((s) => isIP(s) !== 0, { error: 'must be an IP address' });
const hostname = z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/, { error: 'not a valid host name' });
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'not a valid environment variable name' });

export const LABEL_MAX = 256;
const label = z
  .string()
  .min(1, { error: 'labels must not be empty' })
  .max(LABEL_MAX, { error: `labels are at most ${LABEL_MAX} characters` })
  .refine((s) => !s.includes(','), { error: 'labels must not contain commas' })
  .refine((s) => s.trim() === s, { error: 'labels must not start or end with spaces' });

export const NAME_RE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const name = z.string().regex(NAME_RE, { error: 'use lowercase letters, digits and "-" (not at either end)' });

const proxy = z.strictObject({
  http: optional(httpUrl),
  https: optional(httpUrl),
  noProxy: optional(z.union([oneLine(z.string()), z.array(plainText)]).transform((v) => (Array.isArray(v) ? v.join(',') : v))),
});

const network = z.strictObject({
  proxy: optional(proxy),
  caFile: optional(plainText),
  dns: z.array(ip).default([]),
  extraHosts: z.record(hostname, ip).default({}),
  checks: z.array(hostPort).default([]),
});

/** A pool's override: any key replaces the global one; null clears proxy / caFile. */
const networkOverride = z.strictObject({
  proxy: z.union([proxy, z.null()]).optional(),
  caFile: z.union([plainText, z.null()]).optional(),
  dns: optional(z.array(ip)),
  extraHosts: optional(z.record(hostname, ip)),
  checks: optional(z.array(hostPort)),
});

const tool = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, { error: 'use lowercase letters, digits, ".", "_" and "-"' }),
  // It names a directory on PATH (tools/{name}/{version}/{arch}): the same rule as the installer.
  version: z.string().regex(/^[A-Za-z0-9._+-]+$/, { error: 'use letters, digits, ".", "_", "+" and "-"' }),
  url: httpUrl,
  sha256: optional(sha256),
  checksumUrl: optional(httpUrl),
  archive: z.enum(['auto', 'none', 'tar.gz', 'zip']).default('auto'),
  binary: optional(text),
  archMap: optional(z.partialRecord(z.enum(['x64', 'arm64', 'arm']), text)),
  versionCommand: optional(z.array(z.string())),
});

/** Byte sizes as in Docker: 512m, 10g, 1.5t, or a plain number of bytes. */
export function parseBytes(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)i?b?$/i.exec(s.trim());
  if (!m) return undefined;
  const unit = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'b' | 'k' | 'm' | 'g' | 't'];
  return Math.floor(Number(m[1]) * unit);
}

const byteSize = z
  .union([z.string(), z.number()])
  .transform(String)
  .refine((s) => parseBytes(s) !== undefined, { error: 'a size: a number with b, k, m, g or t (e.g. 10g, 512m)' })
  .transform((s) => parseBytes(s)!);

const docker = z.strictObject({
  image: text,
  runnerFrom: z.enum(['cache', 'image']).default('cache'),
  network: optional(text),
  cpus: optional(num.refine((n) => n > 0, { error: 'must be greater than 0' })),
  memory: optional(
    z.union([z.string(), z.number()]).transform(String).refine((s) => /^\d+(\.\d+)?[bkmg]?$/i.test(s), {
      error: 'docker memory syntax: a number with b, k, m or g (e.g. 4g)',
    }),
  ),
  user: optional(text),
  privileged: bool.default(false),
  dockerSocket: bool.default(false),
  sudo: optional(bool),
  imageRunnerDir: text.default('/home/runner'),
  pull: z.enum(['missing', 'always', 'never']).default('missing'),
}).transform(({ memory, ...d }) => stripUndefined({ ...d, memory: memory?.toLowerCase() }));

const systemd = z
  .strictObject({ user: unixName, group: optional(unixName), isolation: optional(z.enum(['per-runner', 'shared'])), sudo: optional(bool) })
  .transform(stripUndefined);

/**
 * process pools: run the runner and its jobs as this user (the daemon must be root to switch);
 * per-runner (default): each runner as its own system user in that user's groups.
 */
const processUser = z.strictObject({ user: text, group: optional(text), isolation: optional(z.enum(['per-runner', 'shared'])) });

const scale = z.strictObject({
  minIdle: int.refine((n) => n >= 0, { error: 'must be 0 or more' }).default(0),
  max: int.refine((n) => n >= 1, { error: 'must be 1 or more' }),
  idleTimeout: duration.default(5 * 60_000),
  via: z.enum(['webhook', 'scaleset']).default('webhook'),
}).transform(({ minIdle, max, idleTimeout, via }): ScaleConfig => ({ minIdle, max, idleTimeoutMs: idleTimeout, ...(via === 'scaleset' ? { via } : {}) }));

const scope = z.strictObject({
  org: optional(text),
  repo: optional(text.regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, { error: 'expected owner/name' })),
  enterprise: optional(text),
});

const poolFields = z.strictObject({
  name,
  scope: section(scope),
  runnerGroup: text.default('Default'),
  labels: z.array(label).default([]),
  backend: z.enum(['docker', 'systemd', 'process']).default('process'),
  size: optional(int.refine((n) => n >= 0, { error: 'must be 0 or more' })),
  scale: optional(scale),
  ephemeral: bool.default(true),
  allowPublicRepos: bool.default(false),
  env: z.record(envName, z.union([oneLine(z.string()), z.number(), z.boolean()]).transform(String)).default({}),
  secretEnv: z.record(envName, text).default({}),
  network: optional(networkOverride),
  limits: optional(
    z
      .strictObject({
        cpus: optional(num.refine((n) => n > 0, { error: 'must be greater than 0' })),
        memory: optional(byteSize.refine((n) => n >= 6 * 1024 * 1024, { error: 'at least 6m (the runner itself needs more)' })),
        pids: optional(int.refine((n) => n > 0, { error: 'must be a positive integer' })),
      })
      .transform(stripUndefined),
  ),
  docker: optional(docker),
  systemd: optional(systemd),
  process: optional(processUser),
});

/** Marks an issue crossChecks() already reports with its own words and position. */
export const CROSS_CHECKED = 'cross-checked';

/**
 * The flat YAML pool → its variants: sizing and backend settings, so code downstream never
 * asserts that a section is there. Mismatches were reported by crossChecks().
 */
const pool = poolFields.transform((p, ctx) => {
  const { size, scale, backend, docker, systemd, process, ...common } = p;
  const sizing: Sizing | undefined = size !== undefined && !scale ? { size } : scale && size === undefined ? { scale } : undefined;
  const sections = { docker, systemd, process: process ? stripUndefined(process) : undefined };
  const settings = backendModules.get(backend)?.settings(sections[backend as keyof typeof sections]);
  if (!sizing || !settings) {
    ctx.issues.push({ code: 'custom', message: CROSS_CHECKED, input: p, params: { crossChecked: true } });
    return z.NEVER;
  }
  return { ...common, ...sizing, ...settings };
});

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const app = z.strictObject({
  appId: int.refine((n) => n > 0, { error: 'must be a positive integer' }),
  installationId: int.refine((n) => n > 0, { error: 'must be a positive integer' }),
  privateKey: optional(text),
  privateKeyFile: optional(text),
});

const auth = z.strictObject({ token: optional(secret), tokenFile: optional(text), app: optional(app) });

export const configSchema = z.strictObject({
  host: section(
    z.strictObject({
      name: optional(name),
      dataDir: plainText.default('/var/lib/runner-fleet'),
      capacity: section(
        z.strictObject({
          minFreeDisk: optional(byteSize),
          minFreeMemory: optional(byteSize),
          cpus: optional(z.union([z.literal('auto'), num.refine((n) => n > 0, { error: 'must be greater than 0, or auto' })])),
        }),
      ),
    }),
  ),
  github: section(
    z.strictObject({ url: httpUrl.default('https://github.com'), apiUrl: optional(httpUrl), auth: section(auth) }),
  ),
  runner: section(
    z.strictObject({
      version: text.default('latest'),
      url: optional(httpUrl),
      sha256: optional(sha256),
      updateSchedule: cronExpr.default('0 4 * * *'),
    }),
  ),
  tokens: section(z.strictObject({ refreshSchedule: cronExpr.default('*/10 * * * *') })),
  tools: z.preprocess((v) => v ?? [], z.array(tool)),
  network: section(network),
  api: section(
    z.strictObject({
      listen: hostPort.default('127.0.0.1:8484'),
      token: optional(secret),
      tokenFile: optional(text),
      webhookSecret: optional(secret),
      webhookSecretFile: optional(text),
    }),
  ),
  reconcile: section(z.strictObject({ interval: duration.default(10_000) })),
  shutdown: section(
    z.strictObject({ mode: z.enum(['drain', 'keep']).default('drain'), drainTimeout: duration.default(600_000) }),
  ),
  pools: z.array(pool).min(1, { error: 'declare at least one pool' }),
});

export type RawConfig = z.output<typeof configSchema>;
export type RawPool = RawConfig['pools'][number];
export type RawNetworkOverride = NonNullable<RawPool['network']>;
