import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FleetError } from '../../errors.js';
import { localRunner, type CommandRunner } from './exec.js';
import { DAEMON_DROP_INS, type DaemonDropIn } from '../module.js';

export const SERVICE_NAME = 'runner-fleet.service';
export const DEFAULT_BIN = '/usr/local/bin/runner-fleet';
export const DEFAULT_CONFIG = '/etc/runner-fleet/config.yaml';
export const DEFAULT_CREDENTIALS_DIR = '/etc/runner-fleet/credentials';

/** The package's own systemd/ dir: three levels above src|dist/backends/systemd/. */
export const SHIPPED_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../systemd');

export interface InstallServiceOptions {
  unitDir?: string;
  /** daemon-reload + enable. */
  reload?: boolean;
  bin?: string;
  configPath?: string;
  /** Any pool with backend: systemd → the systemd-backend drop-in. */
  systemdBackend: boolean;
  /** Any process pool with process.user → the process-user drop-in (root, setuid). */
  processUser?: boolean;
  credentialsDir?: string;
  run?: CommandRunner;
  shippedDir?: string;
}

export interface InstallResult {
  /** Paths written or removed; empty when everything was already in place. */
  changed: string[];
  unchanged: string[];
  credentials: string[];
}

/** The unit with this installation's binary and config path. */
export function renderServiceUnit(shipped: string, bin: string, configPath: string): string {
  if (/\s/.test(bin) || /\s/.test(configPath)) throw new FleetError('USAGE', 'binary and config paths must not contain spaces');
  return shipped
    .replace(/^ExecStart=\S+ daemon -c \S+$/m, `ExecStart=${bin} daemon -c ${configPath}`)
    .replace(/^Environment=RUNNER_FLEET_CONFIG=\S+$/m, `Environment=RUNNER_FLEET_CONFIG=${configPath}`);
}

/**
 * LoadCredential= for exactly the files present: a missing source fails the unit (243/CREDENTIALS),
 * so the shipped github-token line is replaced when the host has something else (an App key).
 * undefined: the shipped unit already matches (only github-token).
 */
export function credentialsDropIn(files: string[], dir: string): string | undefined {
  const names = files.filter((f) => /^[A-Za-z0-9_.-]+$/.test(f) && !f.startsWith('.')).sort();
  if (names.length === 1 && names[0] === 'github-token') return undefined;
  return [
    '# Written by `runner-fleet install-service` from the files in ' + dir + '; rerun it after adding one.',
    '[Service]',
    'LoadCredential=',
    ...names.map((n) => `LoadCredential=${n}:${path.join(dir, n)}`),
    '',
  ].join('\n');
}

async function readOr(file: string): Promise<string | undefined> {
  return readFile(file, 'utf8').catch(() => undefined);
}

/** Writes the file when its content differs; removes it when content is undefined. */
async function put(file: string, content: string | undefined, res: InstallResult): Promise<void> {
  const old = await readOr(file);
  if (old === content) return void res.unchanged.push(file);
  if (content === undefined) {
    await rm(file, { force: true });
  } else {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
    await writeFile(`${file}.tmp`, content, { mode: 0o644 });
    await rename(`${file}.tmp`, file);
  }
  res.changed.push(file);
}

export async function installService(o: InstallServiceOptions): Promise<InstallResult> {
  const unitDir = o.unitDir ?? '/etc/systemd/system';
  const shippedDir = o.shippedDir ?? SHIPPED_DIR;
  const credDir = o.credentialsDir ?? DEFAULT_CREDENTIALS_DIR;
  const res: InstallResult = { changed: [], unchanged: [], credentials: [] };

  const shipped = await readOr(path.join(shippedDir, SERVICE_NAME));
  if (shipped === undefined) throw new FleetError('NOT_IMPLEMENTED', `shipped unit missing: ${path.join(shippedDir, SERVICE_NAME)}`);
  await put(path.join(unitDir, SERVICE_NAME), renderServiceUnit(shipped, o.bin ?? DEFAULT_BIN, o.configPath ?? DEFAULT_CONFIG), res);

  const dropDir = path.join(unitDir, `${SERVICE_NAME}.d`);
  const wanted: Record<DaemonDropIn, boolean> = { 'systemd-backend': o.systemdBackend, 'process-user': o.processUser ?? false };
  for (const name of DAEMON_DROP_INS) {
    const conf = wanted[name] ? await readFile(path.join(shippedDir, `${SERVICE_NAME}.d`, `${name}.conf`), 'utf8') : undefined;
    await put(path.join(dropDir, `${name}.conf`), conf, res);
  }

  res.credentials = await readdir(credDir).catch(() => []);
  await put(path.join(dropDir, 'credentials.conf'), credentialsDropIn(res.credentials, credDir), res);

  if (o.reload ?? true) {
    const run = o.run ?? localRunner;
    for (const args of [['daemon-reload'], ['enable', SERVICE_NAME]]) {
      const r = await run(['systemctl', ...args]);
      if (r.code !== 0) throw new FleetError('BACKEND_FAILED', `systemctl ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    }
  }
  return res;
}
