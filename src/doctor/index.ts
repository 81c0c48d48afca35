import { execFile } from 'node:child_process';
import { describeError } from '../errors.js';
import { backendModules } from '../backends/index.js';
import { checkApiExposure } from './api.js';
import { checkGitHubCredentials, checkPublicExposure, checkRunnerVersion } from './github.js';
import { checkConfig, checkDataDir, checkTools } from './local.js';
import { checkNetworkFromHost } from './network.js';
import { checkJobIsolation } from './isolation.js';
import { checkHostNames } from './hosts.js';
import { fail, type Check, type CheckResult, type DoctorContext, type ExecResult } from './types.js';

export * from './types.js';
export { checkConfig, checkDataDir, checkTools } from './local.js';
export { checkApiExposure } from './api.js';
export { checkGitHubCredentials, checkPublicExposure, checkRunnerVersion, permissionHint } from './github.js';
export { checkNetworkFromHost, tcpProbe } from './network.js';
export { checkJobIsolation } from './isolation.js';
export { checkHostNames } from './hosts.js';

const modules = [...backendModules.values()];

/** In table order. Each backend's checks skip themselves when no pool uses it. */
export const ALL_CHECKS: { id: string; run: Check }[] = [
  { id: 'config', run: checkConfig },
  { id: 'data-dir', run: checkDataDir },
  ...modules.flatMap((m) => (m.doctor.engine ? [{ id: m.kind, run: m.doctor.engine }] : [])),
  { id: 'github', run: checkGitHubCredentials },
  { id: 'runner-version', run: checkRunnerVersion },
  { id: 'tools', run: checkTools },
  { id: 'network-host', run: checkNetworkFromHost },
  ...modules.flatMap((m) => (m.doctor.network ? [m.doctor.network] : [])),
  { id: 'exposure', run: checkPublicExposure },
  { id: 'api', run: checkApiExposure },
  { id: 'isolation', run: checkJobIsolation },
  { id: 'host-names', run: checkHostNames },
];

/** Runs every check; one that throws becomes a failed row, never a crashed doctor. */
export async function runDoctor(ctx: DoctorContext, checks = ALL_CHECKS): Promise<CheckResult[]> {
  const rows: CheckResult[] = [];
  for (const c of checks) {
    try {
      rows.push(...(await c.run(ctx)));
    } catch (err) {
      rows.push(fail(c.id, `check crashed: ${describeError(err)}`));
    }
  }
  return rows;
}

export const anyFailed = (rows: CheckResult[]): boolean => rows.some((r) => r.status === 'fail');

/** CHECK | STATUS | DETAIL | FIX, like a troubleshooting table: symptom, cause, fix. */
export function formatTable(rows: CheckResult[]): string {
  const head = ['CHECK', 'STATUS', 'DETAIL', 'FIX'];
  const cells = rows.map((r) => [r.name, r.status.toUpperCase(), r.detail, r.status === 'ok' ? '' : (r.hint ?? '')]);
  const w = [0, 1, 2].map((i) => Math.max(head[i]!.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => [c[0]!.padEnd(w[0]!), c[1]!.padEnd(w[1]!), c[2]!.padEnd(w[2]!), c[3]!].join('  ').trimEnd();
  const fails = rows.filter((r) => r.status === 'fail').length;
  const warns = rows.filter((r) => r.status === 'warn').length;
  return [line(head), ...cells.map(line), '', `${rows.length} checks: ${fails} failed, ${warns} warnings`].join('\n') + '\n';
}

export function defaultExec(cmd: string, args: string[], timeoutMs: number): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' } }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: string | number }) | null;
      if (e && typeof e.code === 'string') return resolve({ code: null, stdout, stderr, error: e.code });
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr });
    });
  });
}
