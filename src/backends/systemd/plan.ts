import type { PoolOf } from '../../config/types.js';
import { unitName } from './names.js';

export interface SystemdPlan {
  kind: 'systemd';
  unit: string;
  user: string;
  group?: string;
}

export function systemdPlan(p: PoolOf<'systemd'>, example: string): { backend: SystemdPlan; warnings: string[] } {
  const s = p.systemd;
  return { backend: { kind: 'systemd', unit: unitName(example), user: s.user, ...(s.group ? { group: s.group } : {}) }, warnings: [] };
}

export function systemdPlanRows(b: SystemdPlan): Array<[string, string]> {
  return [['backend', `systemd unit ${b.unit}, user ${b.user}${b.group ? `, group ${b.group}` : ''}`]];
}
