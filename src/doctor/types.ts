import type Dockerode from 'dockerode';
import type { FleetConfig } from '../config/types.js';
import type { RunnerService } from '../github/types.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/types.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

/** One row of the doctor table; `hint` is the fix, in the spirit of a troubleshooting table. */
export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
  hint?: string;
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
}

/** Each check is independent so tests can run one against the emulator or real Docker. */
export type Check = (ctx: DoctorContext) => Promise<CheckResult[]>;

export const ok = (name: string, detail: string): CheckResult => ({ name, status: 'ok', detail });
export const warn = (name: string, detail: string, hint?: string): CheckResult => (hint ? { name, status: 'warn', detail, hint } : { name, status: 'warn', detail });
export const fail = (name: string, detail: string, hint?: string): CheckResult => (hint ? { name, status: 'fail', detail, hint } : { name, status: 'fail', detail });
