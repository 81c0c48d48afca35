import type Dockerode from 'dockerode';
import type { FleetConfig } from '../config/types.js';
import type { RunnerService } from '../github/types.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/types.js';

/** skip: not run because a check it depends on failed (no advice built on a broken premise). */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

/** One row of the doctor table; `hint` is the fix, in the spirit of a troubleshooting table. */
export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
  hint?: string;
  /** Why a network check failed: dns, connect, timeout, tls, proxy, http, auth, permission, rate-limit. */
  cause?: string;
}

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** spawn error (e.g. ENOENT) */
  error?: string;
}

export interface DoctorContext {
  cfg: FleetConfig;
  /** Absent when a client could not even be built (doctor then reports that). */
  github?: RunnerService;
  docker?: Dockerode;
  store?: Pick<Store, 'versions' | 'meta'>;
  now: () => number;
  exec: (cmd: string, args: string[], timeoutMs: number) => Promise<ExecResult>;
  logger?: Logger;
  /** TCP connect timeout for network checks; default 3 s. */
  tcpTimeoutMs?: number;
  /** Our arch name; default the host's. */
  arch?: string;
  /** Per network operation (HTTP request, TCP probe, exec); default 5 s. */
  timeoutMs?: number;
  /** The daemon's own fetch (proxy, CA): the GitHub API reachability check uses it. */
  fetch?: typeof fetch;
  /** Rows of checks that finished before this one (its dependencies among them), by check id. */
  prior?: ReadonlyMap<string, CheckResult[]>;
}

/** Each check is independent so tests can run one against the emulator or real Docker. */
export type Check = (ctx: DoctorContext) => Promise<CheckResult[]>;

export const ok = (name: string, detail: string): CheckResult => ({ name, status: 'ok', detail });
export const warn = (name: string, detail: string, hint?: string): CheckResult => (hint ? { name, status: 'warn', detail, hint } : { name, status: 'warn', detail });
export const fail = (name: string, detail: string, hint?: string): CheckResult => (hint ? { name, status: 'fail', detail, hint } : { name, status: 'fail', detail });
export const skip = (name: string, detail: string): CheckResult => ({ name, status: 'skip', detail });

/** The first failed row of a finished check, if any: dependants skip with its name. */
export function failedDep(ctx: DoctorContext, id: string): CheckResult | undefined {
  return ctx.prior?.get(id)?.find((r) => r.status === 'fail');
}
