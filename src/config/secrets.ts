import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Path } from './positions.js';
import type { Report } from './checks.js';

/** Secret values resolved from `*File` keys (or given inline), keyed by what they are for. */
export interface Secrets {
  githubToken?: string;
  appPrivateKey?: string;
  apiToken?: string;
  webhookSecret?: string;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);

/** Relative paths in the config are relative to the config file, like an include. */
export function resolvePath(baseDir: string, p: string): string {
  return path.resolve(baseDir, p);
}

/**
 * Reads `tokenFile`, `privateKeyFile`, `webhookSecretFile`, `api.tokenFile`. One trailing newline
 * is dropped (echo and systemd-creds add one). An unreadable or empty file is an issue at its key.
 */
export function readSecrets(raw: unknown, baseDir: string, report: Report): Secrets {
  const root = obj(raw);
  const auth = obj(obj(root?.github)?.auth);
  const app = obj(auth?.app);
  const api = obj(root?.api);
  const read = (o: Obj | undefined, inline: string, file: string, at: Path): string | undefined =>
    pick(o, inline, file, at, baseDir, report);
  return {
    githubToken: read(auth, 'token', 'tokenFile', ['github', 'auth']),
    appPrivateKey: read(app, 'privateKey', 'privateKeyFile', ['github', 'auth', 'app']),
    apiToken: read(api, 'token', 'tokenFile', ['api']),
    webhookSecret: read(api, 'webhookSecret', 'webhookSecretFile', ['api']),
  };
}

function pick(o: Obj | undefined, inline: string, fileKey: string, at: Path, baseDir: string, report: Report): string | undefined {
  const file = o?.[fileKey];
  if (typeof file === 'string' && file !== '') {
    const full = resolvePath(baseDir, file);
    try {
      const value = readFileSync(full, 'utf8').replace(/\r?\n$/, '');
      if (value.trim() === '') report([...at, fileKey], `secret file ${full} is empty`);
      return value;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      report([...at, fileKey], `cannot read secret file ${full} (${code})`);
      return undefined;
    }
  }
  const value = o?.[inline];
  // An optional secret given as `${VAR:-}` means "not configured".
  return typeof value === 'string' && value !== '' ? value : undefined;
}
