import { DEFAULT_SYSTEMD_ISOLATION, type PoolOf } from '../../config/types.js';
import { dockerSocketPlanWarnings } from '../socket-access.js';
import { unitName } from './names.js';

export interface SystemdPlan {
  kind: 'systemd';
  unit: string;
  user: string;
  group?: string;
  /** per-runner: each runner its own rf-* user in the pool user's group (the default); shared: all run as user. */
  isolation: 'per-runner' | 'shared';
}

/** systemd.sudo: setuid binaries work again in jobs. */
export const SUDO_WARNING = 'systemd.sudo: jobs may use sudo (NoNewPrivileges off, capabilities kept): whoever the sudoers rules let in is root on this host';

export function systemdPlan(p: PoolOf<'systemd'>, example: string): { backend: SystemdPlan; warnings: string[] } {
  const s = p.systemd;
  return { backend: { kind: 'systemd', unit: unitName(example), user: s.user, ...(s.group ? { group: s.group } : {}), isolation: s.isolation ?? DEFAULT_SYSTEMD_ISOLATION }, warnings: [...dockerSocketPlanWarnings(s.user), ...(s.sudo ? [SUDO_WARNING] : [])] };
}

export function systemdPlanRows(b: SystemdPlan): Array<[string, string]> {
  return [['backend', `systemd unit ${b.unit}, ${b.isolation === 'shared' ? `user ${b.user}` : `a user per runner in ${b.user}'s group`}${b.group ? `, group ${b.group}` : ''}`]];
}
