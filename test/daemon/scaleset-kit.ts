/** Scale-set e2e helpers: a `scale.via: scaleset` pool, listener tuning and emulator checks. */
import type { ExecutionContext } from 'ava';
import { createApiClient } from '../../src/api/client.js';
import { controlSocketPath } from '../../src/api/socket.js';
import type { DaemonFixture } from '../helpers/daemon.js';
import type { DaemonOptions } from '../../src/daemon/start.js';
import type { Emulator } from '../emulator/types.js';

export const SS_LABELS = ['burst'];

/** A scale-set pool on the process backend (or `backendYaml` for another). */
export function scaleSetPoolYaml(o: { name?: string; max?: number; minIdle?: number; labels?: string[]; backendYaml?: string } = {}): string {
  return `  - name: ${o.name ?? 'burst'}
    scope: { org: acme }
    labels: [${(o.labels ?? SS_LABELS).join(', ')}]
${o.backendYaml ?? '    backend: process\n'}    scale: { minIdle: ${o.minIdle ?? 0}, max: ${o.max ?? 6}, idleTimeout: 1m, via: scaleset }
    env: { RUNNER_ALLOW_RUNASROOT: "1" }
`;
}

/** The emulator's hold time in tests: short, so idle polls cycle quickly. */
export const HOLD_MS = 1500;

export const LISTENER: DaemonOptions['scaleSetListener'] = { holdMs: HOLD_MS, watchdogMs: 20_000, backoffBaseMs: 100, backoffMaxMs: 1000, conflictRetryMs: 250 };

/** Every message the scale set ever had was acknowledged, and capacity was never advertised as 0. */
export function assertQueueClean(t: ExecutionContext, emu: Emulator, name = 'h1-burst'): void {
  const info = emu.scaleSets.get(name);
  t.truthy(info, `scale set ${name}`);
  t.true(info!.messages.length > 0);
  t.true(info!.messages.every((m) => m.acked), 'every message acknowledged');
  t.true(info!.advertised.length > 0);
  t.false(info!.advertised.some((c) => c <= 0), 'capacity never advertised as 0');
  t.deepEqual(emu.scaleSets.stranded(), []);
}

/** `runner-fleet deregister --all` as the CLI sends it: through the daemon's control socket. */
export function deregisterAll(fx: DaemonFixture): Promise<Record<string, unknown>> {
  const client = createApiClient({ listen: { host: '127.0.0.1', port: fx.daemon.apiPort }, socketPath: controlSocketPath(fx.config.host.dataDir) });
  return client.deregisterAll();
}
