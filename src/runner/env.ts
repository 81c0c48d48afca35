import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import type { FleetConfig, PoolConfig } from '../config/types.js';
import type { Mount } from '../backends/types.js';
import { FleetError } from '../errors.js';
import type { Logger } from '../log.js';
import type { InstalledTool } from '../tools/types.js';
import { ensureDataDir } from '../store/files.js';
import { runnerCacheDir } from './download.js';

export const SYSTEM_PATH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export interface RunnerEnv {
  /** Clean, safe to log, written to `.env`. */
  env: Record<string, string>;
  /** Tool dirs first, then the standard system dirs; written to `.path`. */
  pathDirs: string[];
  /** secretEnv file contents + secretValues: never logged, never written to `.env`. */
  secretEnv: Record<string, string>;
  /** Human-readable problems worth a log line (e.g. a group-readable secret file). */
  warnings: string[];
}

export interface BuildEnvOptions {
  cfg: Pick<FleetConfig, 'host'>;
  pool: Pick<PoolConfig, 'name' | 'env' | 'secretEnv' | 'network'>;
  tools: InstalledTool[];
  root: string;
  /** Secrets that are not files (JIT config, registration token). */
  secretValues?: Record<string, string>;
  logger?: Logger;
}

/**
 * docs/contract.md §6: the runner's environment is built from the config alone. process.env is never
 * read here, so the daemon's GitHub token cannot reach a job.
 */
export function buildRunnerEnv(opts: BuildEnvOptions): RunnerEnv {
  const { cfg, pool } = opts;
  const pathDirs = [...new Set([...opts.tools.map((t) => t.dir), ...SYSTEM_PATH_DIRS])];
  const env: Record<string, string> = {
    PATH: pathDirs.join(':'),
    HOME: opts.root,
    LANG: 'C.UTF-8',
    RUNNER_TOOL_CACHE: path.join(cfg.host.dataDir, 'tools'),
    ...proxyEnv(pool.network.proxy),
    ...caEnv(cfg.host.dataDir, pool.network.caFile),
    ...pool.env,
  };
  const warnings: string[] = [];
  const secretEnv = { ...readSecretFiles(pool.name, pool.secretEnv, warnings), ...(opts.secretValues ?? {}) };
  for (const w of warnings) opts.logger?.warn({ pool: pool.name }, w);
  return { env, pathDirs, secretEnv, warnings };
}

/** Tools disagree on case, so both spellings. */
export function proxyEnv(proxy: PoolConfig['network']['proxy']): Record<string, string> {
  const out: Record<string, string> = {};
  const set = (name: string, v: string | undefined) => {
    if (!v) return;
    out[name.toUpperCase()] = v;
    out[name.toLowerCase()] = v;
  };
  set('HTTP_PROXY', proxy?.http);
  set('HTTPS_PROXY', proxy?.https ?? proxy?.http);
  set('NO_PROXY', proxy?.noProxy);
  return out;
}

/**
 * NODE_EXTRA_CA_CERTS adds to Node's roots, but SSL_CERT_FILE *replaces* OpenSSL's: pointing it
 * at the internal CA alone would break every public HTTPS call (git, curl). So SSL_CERT_FILE
 * gets a bundle of the system roots plus caFile.
 */
export function caEnv(dataDir: string, caFile: string | undefined): Record<string, string> {
  if (!caFile) return {};
  const bundle = ensureCaBundle(dataDir, caFile);
  return { NODE_EXTRA_CA_CERTS: caFile, SSL_CERT_FILE: bundle, REQUESTS_CA_BUNDLE: bundle, CURL_CA_BUNDLE: bundle };
}

export function ensureCaBundle(dataDir: string, caFile: string): string {
  let extra: string;
  try {
    extra = fs.readFileSync(caFile, 'utf8');
  } catch (err) {
    throw new FleetError('RUNNER_PREPARE', `cannot read caFile ${caFile}`, { cause: err });
  }
  const content = `${tls.rootCertificates.join('\n')}\n${extra.trim()}\n`;
  const id = crypto.createHash('sha256').update(content).digest('hex').slice(0, 16);
  const dir = path.join(dataDir, 'cache', 'ca');
  const file = path.join(dir, `bundle-${id}.pem`);
  if (!fs.existsSync(file)) {
    ensureDataDir(dataDir);
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, content, { mode: 0o644 });
    fs.renameSync(tmp, file);
  }
  return file;
}

function readSecretFiles(pool: string, files: Record<string, string>, warnings: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, file] of Object.entries(files)) {
    let value: string;
    try {
      value = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new FleetError('RUNNER_PREPARE', `pool ${pool}: secretEnv ${name}: cannot read ${file}`, { cause: err });
    }
    const mode = fs.statSync(file).mode & 0o777;
    if (mode & 0o077) warnings.push(`secretEnv ${name}: ${file} is mode ${mode.toString(8)}; make it 0600 (group/world can read it)`);
    out[name] = value.replace(/\r?\n$/, '');
  }
  return out;
}

/** Host paths a runner must see, mounted read-only at the same path (Docker). */
export function runnerMounts(cfg: Pick<FleetConfig, 'host'>, pool: Pick<PoolConfig, 'network'>, version: string): Mount[] {
  const dataDir = cfg.host.dataDir;
  // A bind mount of a missing path fails the container; an empty tool cache is fine.
  ensureDataDir(dataDir);
  fs.mkdirSync(path.join(dataDir, 'tools'), { recursive: true, mode: 0o755 });
  const mounts: Mount[] = [
    { source: runnerCacheDir(dataDir, version), target: runnerCacheDir(dataDir, version), readOnly: true },
    { source: path.join(dataDir, 'tools'), target: path.join(dataDir, 'tools'), readOnly: true },
  ];
  const ca = pool.network.caFile;
  if (ca) {
    mounts.push({ source: ca, target: ca, readOnly: true });
    const bundleDir = path.join(dataDir, 'cache', 'ca');
    mounts.push({ source: bundleDir, target: bundleDir, readOnly: true });
  }
  return mounts;
}
