import { unixDbRows } from '../unix-db.js';
import { FleetError } from '../../errors.js';

export interface UnixIds {
  uid: number;
  gid: number;
}

/**
 * Resolves "name", "uid" or "uid:gid" via /etc/passwd (no NSS: a build host's runner user is
 * local). libuv drops supplementary groups when uid/gid are set, so the runner gets only its
 * primary group — never root's groups.
 */
export function resolveUser(user: string, passwdFile = '/etc/passwd'): UnixIds {
  const numeric = /^(\d+)(?::(\d+))?$/.exec(user);
  if (numeric) {
    const uid = Number(numeric[1]);
    const gid = numeric[2] !== undefined ? Number(numeric[2]) : (lookup(passwdFile, (f) => Number(f[2]) === uid)?.gid ?? uid);
    return { uid, gid };
  }
  const hit = lookup(passwdFile, (f) => f[0] === user);
  if (!hit) throw new FleetError('BACKEND_FAILED', `unknown user "${user}" (not in ${passwdFile})`);
  return hit;
}

function lookup(file: string, pred: (fields: string[]) => boolean): UnixIds | undefined {
  const f = unixDbRows(file).find((row) => row.length >= 4 && pred(row));
  return f ? { uid: Number(f[2]), gid: Number(f[3]) } : undefined;
}

/** Whether /etc/passwd names this uid (setpriv --init-groups needs a name). */
export function hasPasswdEntry(uid: number, passwdFile = '/etc/passwd'): boolean {
  return lookup(passwdFile, (f) => Number(f[2]) === uid) !== undefined;
}

/** Switch users only when we can (root) and were asked to. */
export function idsFor(user: string | undefined): UnixIds | undefined {
  if (!user || typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const ids = resolveUser(user);
  return ids.uid === 0 && ids.gid === 0 ? undefined : ids;
}

/** A group name or gid via /etc/group. */
export function resolveGroup(group: string, groupFile = '/etc/group'): number {
  if (/^\d+$/.test(group)) return Number(group);
  const f = unixDbRows(groupFile).find((row) => row.length >= 3 && row[0] === group);
  if (f) return Number(f[2]);
  throw new FleetError('BACKEND_FAILED', `unknown group "${group}" (not in ${groupFile})`);
}

/**
 * `pools[].process`: the ids its runners and jobs run as. Only a root daemon can switch users;
 * anything else would quietly run jobs as the daemon's own user, so it is a config error.
 */
export function processPoolIds(p: { user: string; group?: string }, pool: string): UnixIds {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw new FleetError('CONFIG_INVALID', `pool ${pool}: process.user needs the daemon to run as root (it switches to ${p.user} for each runner)`);
  }
  const ids = resolveUser(p.user);
  const gid = p.group !== undefined ? resolveGroup(p.group) : ids.gid;
  if (ids.uid === 0) throw new FleetError('CONFIG_INVALID', `pool ${pool}: process.user must not be root (leave it out to run jobs as the daemon's user)`);
  return { uid: ids.uid, gid };
}
