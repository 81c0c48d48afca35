import type { ExecutionContext } from 'ava';
import fs from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import type { FleetConfig } from '../../src/config/types.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { startDaemon, type Daemon, type DaemonOptions } from '../../src/daemon/start.js';
import type { Emulator } from '../emulator/types.js';
import { tempDir } from './temp.js';

export interface DaemonFixture {
  dir: string;
  configPath: string;
  config: FleetConfig;
  daemon: Daemon;
  stop(mode?: 'drain' | 'keep'): Promise<void>;
}

/** A config file for the emulator: host h1 (or `host`), org acme, PAT auth, quick reconcile. */
export function emulatorConfigYaml(emu: Emulator, dataDir: string, pools: string, extra = '', host = 'h1'): string {
  return `host:
  name: ${host}
  dataDir: ${dataDir}
github:
  url: ${emu.url}
  apiUrl: ${emu.apiUrl}
  auth:
    token: test-pat
api:
  listen: 127.0.0.1:0
  webhookSecret: test-secret
reconcile:
  interval: 1s
shutdown:
  mode: drain
  drainTimeout: 30s
${extra}
pools:
${pools}`;
}

export interface PoolYaml {
  name: string;
  scope?: string;
  /** A string goes in as written (invalid-config tests). */
  size?: number | string;
  ephemeral?: boolean;
  runnerGroup?: string;
  labels?: string[];
  /** Extra YAML lines under the pool (already indented by 4). */
  extra?: string;
  env?: Record<string, string>;
}

/** One pool entry for emulatorConfigYaml's `pools:` block (process backend). */
export function poolYaml(p: PoolYaml): string {
  const env = { RUNNER_ALLOW_RUNASROOT: '1', ...p.env };
  const envYaml = Object.entries(env)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `${k}: "${v}"`)
    .join(', ');
  return `  - name: ${p.name}
    scope: ${p.scope ?? '{ org: acme }'}
${p.runnerGroup ? `    runnerGroup: ${p.runnerGroup}\n` : ''}    labels: [${(p.labels ?? ['cd-pipeline']).join(', ')}]
    backend: process
    size: ${p.size ?? 1}
    ephemeral: ${p.ephemeral ?? true}
    env: { ${envYaml} }
${p.extra ?? ''}`;
}

/** A daemon on the emulator in a temp dir removed when the test ends (unless `opts.dir` is the caller's). */
export async function startTestDaemon(
  t: Pick<ExecutionContext, 'teardown'>,
  emu: Emulator,
  pools: string,
  opts: {
    extra?: string; logger?: Logger; daemon?: Partial<DaemonOptions>; dir?: string; host?: string; dataDir?: string;
    /** host.capacity floors (bytes; 0 turns one off), which go under the helper's `host:`. */
    capacity?: { minFreeDisk?: number; minFreeMemory?: number; cpus?: number | 'auto' };
  } = {},
): Promise<DaemonFixture> {
  const dir = opts.dir ?? (await tempDir(t, 'rf-daemon-'));
  const configPath = path.join(dir, 'config.yaml');
  const dataDir = opts.dataDir ?? path.join(dir, 'data');
  let yaml = emulatorConfigYaml(emu, dataDir, pools, opts.extra, opts.host);
  if (opts.capacity) {
    const floors = Object.entries(opts.capacity).map(([k, v]) => `${k}: ${v}`).join(', ');
    yaml = yaml.replace(`  dataDir: ${dataDir}\n`, `  dataDir: ${dataDir}\n  capacity: { ${floors} }\n`);
  }
  await fs.writeFile(configPath, yaml);
  const config = await loadConfig(configPath, {});
  const daemon = await startDaemon({ config, logger: opts.logger ?? silentLogger(), githubListIntervalMs: 1000, ...opts.daemon });
  let stopped = false;
  return {
    dir, configPath, config, daemon,
    async stop(mode) {
      if (stopped) return;
      stopped = true;
      await daemon.shutdown(mode);
    },
  };
}

export { until } from './poll.js';
