import { constants } from 'node:os';
import type { ObservedRunner, ObservedState } from '../types.js';

const SIGNALS = new Map<number, string>(Object.entries(constants.signals).map(([name, n]) => [n, name]));

/** ExecMainStatus holds the signal number when ExecMainCode says killed/dumped. */
function signalName(n: number): string | null {
  return Number.isInteger(n) && n > 0 ? (SIGNALS.get(n) ?? `SIG${n}`) : null;
}
import type { UnitProps } from './systemctl.js';

export const SHOW_PROPS = [
  'Id',
  'LoadState',
  'ActiveState',
  'SubState',
  'MainPID',
  'ExecMainCode',
  'ExecMainStatus',
  'ExecMainStartTimestamp',
  'FragmentPath',
  'Result',
];

/** CLD_* from waitid(2), as systemd reports ExecMainCode. 0: the main process never ran. */
const CLD_EXITED = '1';

export function observedState(p: UnitProps): ObservedState {
  switch (p.ActiveState) {
    case 'active':
    case 'reloading':
      // RemainAfterExit=yes: a clean exit stays "active (exited)" with its status kept.
      return p.SubState === 'exited' ? 'exited' : 'running';
    case 'activating':
      // auto-restart (waiting RestartSec after a retryable exit) is a start in progress.
      return 'starting';
    case 'deactivating':
      return p.MainPID && p.MainPID !== '0' ? 'running' : 'exited';
    default:
      // failed, inactive, maintenance
      return 'exited';
  }
}

/** The Listener's exit code; null when a signal killed it; undefined when it never ran. */
export function exitCode(p: UnitProps): number | null | undefined {
  if (!p.ExecMainCode || p.ExecMainCode === '0') return undefined;
  if (p.ExecMainCode !== CLD_EXITED) return null;
  const n = Number(p.ExecMainStatus);
  return Number.isInteger(n) ? n : null;
}

/** `--timestamp=unix` prints "@1700000000"; empty or "n/a" when unknown. */
export function startedAt(p: UnitProps): number | undefined {
  const m = /^@(\d+)$/.exec(p.ExecMainStartTimestamp ?? '');
  return m?.[1] ? Number(m[1]) * 1000 : undefined;
}

export function toObserved(name: string, pool: string, unit: string, p: UnitProps): ObservedRunner {
  const state = observedState(p);
  const r: ObservedRunner = { name, pool, backend: 'systemd', state, ref: unit };
  const at = startedAt(p);
  if (at !== undefined) r.startedAt = at;
  if (state === 'exited') {
    const code = exitCode(p);
    if (code !== undefined) r.exitCode = code;
    if (code === null) r.signal = signalName(Number(p.ExecMainStatus));
    if (p.Result === 'oom-kill') r.oomKilled = true;
  }
  return r;
}

/** The main process is gone (exited, failed, or never started). */
export function mainGone(p: UnitProps | undefined): boolean {
  if (!p) return true;
  if (p.MainPID && p.MainPID !== '0') return false;
  return p.ActiveState !== 'deactivating' && p.ActiveState !== 'reloading';
}
