import { execFile } from 'node:child_process';
import { describeError } from '../errors.js';
import { backendModules } from '../backends/index.js';
import { checkApiExposure } from './api.js';
import { formatDuration } from '../config/duration.js';
import { checkGitHubApi, checkGitHubCredentials, checkPublicExposure, checkRunnerVersion, DEFAULT_TIMEOUT_MS } from './github.js';
import { checkConfig, checkDataDir, checkTools } from './local.js';
import { checkNetworkFromHost } from './network.js';
import { checkJobIsolation } from './isolation.js';
import { checkHostNames } from './hosts.js';
import { fail, type Check, type CheckResult, type DoctorContext, type ExecResult } from './types.js';

export * from './types.js';
export * from './table.js';
export { checkConfig, checkDataDir, checkTools } from './local.js';
export { checkApiExposure } from './api.js';
export { checkGitHubApi, checkGitHubCredentials, checkPublicExposure, checkRunnerVersion, permissionHint, DEFAULT_TIMEOUT_MS } from './github.js';
export { checkNetworkFromHost, tcpProbe } from './network.js';
export { checkJobIsolation } from './isolation.js';
export { checkHostNames } from './hosts.js';

const modules = [...backendModules.values()];

/**
 * In table order. `after`: checks whose rows this one reads (it waits for them and skips what
 * depends on a failure). `budget`: how long the check may take, from the per-operation timeout.
 * Each backend's checks skip themselves when no pool uses it.
 */
export interface CheckDef {
  id: string;
  run: Check;
  after?: string[];
  budget?: (timeoutMs: number) => number;
}

export const ALL_CHECKS: CheckDef[] = [
  { id: 'config', run: checkConfig },
  { id: 'data-dir', run: checkDataDir },
  ...modules.flatMap((m) => (m.doctor.engine ? [{ id: m.kind, run: m.doctor.engine }] : [])),
  { id: 'github-api', run: checkGitHubApi },
  { id: 'github', run: checkGitHubCredentials, after: ['github-api'] },
  { id: 'runner-version', run: checkRunnerVersion, after: ['github-api'] },
  { id: 'tools', run: checkTools },
  { id: 'network-host', run: checkNetworkFromHost },
  // Probes the backend's way (a container per pool for docker): engine start plus the probes.
  ...modules.flatMap((m) => (m.doctor.network ? [{ ...m.doctor.network, after: m.doctor.engine ? [m.kind] : [], budget: (t: number) => 15_000 + 2 * t }] : [])),
  { id: 'exposure', run: checkPublicExposure, after: ['github-api', 'github'] },
  { id: 'api', run: checkApiExposure },
  { id: 'isolation', run: checkJobIsolation },
  { id: 'host-names', run: checkHostNames },
];

export interface RunOptions {
  /** Called with each check's rows in table order, as soon as they and every row above are known. */
  onRows?: (rows: CheckResult[]) => void;
  /** The whole run ends by then: checks still running become failed `timeout` rows. Default 6 × timeout. */
  totalMs?: number;
}

/**
 * Runs independent checks concurrently (an offline host waits for its timeouts once, not once
 * per check), each within its budget; one that throws or overruns becomes a failed row.
 */
export async function runDoctor(ctx: DoctorContext, checks: CheckDef[] = ALL_CHECKS, opts: RunOptions = {}): Promise<CheckResult[]> {
  const timeoutMs = ctx.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const prior = new Map<string, CheckResult[]>();
  const dctx: DoctorContext = { ...ctx, timeoutMs, prior };
  const total = bounded<void>(opts.totalMs ?? 6 * timeoutMs);
  const started = new Map<string, Promise<CheckResult[]>>();
  const runOne = (c: CheckDef): Promise<CheckResult[]> => {
    const known = started.get(c.id);
    if (known) return known;
    const p = (async () => {
      await Promise.all((c.after ?? []).map((id) => {
        const dep = checks.find((d) => d.id === id);
        return dep ? runOne(dep) : undefined;
      }));
      const budgetMs = (c.budget ?? ((t: number) => 2 * t))(timeoutMs);
      const limit = bounded<CheckResult[]>(budgetMs);
      try {
        const rows = await Promise.race([c.run(dctx), limit.promise, total.promise.then(() => 'total' as const)]);
        if (rows === 'total') return [overran(c.id, `the whole doctor run is bounded (${fmt(opts.totalMs ?? 6 * timeoutMs)})`)];
        return rows ?? [overran(c.id, `no answer within ${fmt(budgetMs)} (--timeout ${fmt(timeoutMs)})`)];
      } catch (err) {
        return [fail(c.id, `check crashed: ${describeError(err)}`)];
      } finally {
        limit.cancel();
      }
    })().then((rows) => {
      prior.set(c.id, rows);
      return rows;
    });
    started.set(c.id, p);
    return p;
  };
  const all = checks.map(runOne);
  const rows: CheckResult[] = [];
  try {
    for (const p of all) {
      const r = await p;
      rows.push(...r);
      opts.onRows?.(r);
    }
  } finally {
    total.cancel();
  }
  return rows;
}

function overran(id: string, why: string): CheckResult {
  return { name: id, status: 'fail', detail: `timeout: ${why}`, hint: 'a network call hangs: see the rows above for the endpoint; raise --timeout to wait longer', cause: 'timeout' };
}

/** A promise resolving undefined after ms (unref'd), and a way to cancel the timer. */
function bounded<T>(ms: number): { promise: Promise<T | undefined>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<T | undefined>((r) => {
    timer = setTimeout(() => r(undefined), ms);
    timer.unref();
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

const fmt = (ms: number): string => formatDuration(ms);

export const anyFailed = (rows: CheckResult[]): boolean => rows.some((r) => r.status === 'fail');

export function defaultExec(cmd: string, args: string[], timeoutMs: number): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' } }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: string | number }) | null;
      if (e && typeof e.code === 'string') return resolve({ code: null, stdout, stderr, error: e.code });
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr });
    });
  });
}
