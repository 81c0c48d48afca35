import type { FleetConfig, PoolConfig } from '../../src/config/types.js';
import { defaultExec, type DoctorContext } from '../../src/doctor/index.js';

export function pool(over: Partial<PoolConfig> = {}): PoolConfig {
  return <PoolConfig>{
    name: 'cd', scope: { kind: 'org', org: 'acme' }, runnerGroup: 'Default', labels: [], backend: 'process', size: 1,
    ephemeral: true, allowPublicRepos: false, env: {}, secretEnv: {},
    network: { dns: [], extraHosts: {}, checks: [] }, ...over,
  };
}

export function config(dataDir: string, over: Partial<FleetConfig> = {}): FleetConfig {
  return {
    source: '/test/config.yaml',
    host: { name: 'h', dataDir },
    github: { url: 'http://127.0.0.1', apiUrl: 'http://127.0.0.1:1/api/v3', auth: { kind: 'token', token: 'test-pat' } },
    runner: { version: 'latest', updateSchedule: '0 4 * * *' },
    tokens: { refreshSchedule: '*/10 * * * *' },
    tools: [],
    network: { dns: [], extraHosts: {}, checks: [] },
    api: { listen: { host: '127.0.0.1', port: 0 } },
    reconcile: { intervalMs: 10_000 },
    shutdown: { mode: 'drain', drainTimeoutMs: 600_000 },
    pools: [pool()],
    ...over,
  };
}

export function context(cfg: FleetConfig, over: Partial<DoctorContext> = {}): DoctorContext {
  return { cfg, now: Date.now, exec: defaultExec, tcpTimeoutMs: 1500, ...over };
}
