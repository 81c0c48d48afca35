import fs from 'node:fs';
import { unixDbRows } from './unix-db.js';

/**
 * Whether `user` reaches the Docker socket through a group: whoever can open it can start a
 * privileged container, which is root on the host. Read from the files, not NSS: doctor stays
 * synchronous and side-effect free (unix-db.ts). Undefined when the user, the group or the socket is absent.
 */
export function dockerSocketGroup(user: string, files = { passwd: '/etc/passwd', group: '/etc/group', socket: '/var/run/docker.sock' }): string | undefined {
  const pw = unixDbRows(files.passwd).find((r) => r[0] === user);
  if (!pw) return undefined;
  const groups = unixDbRows(files.group);
  let gid: string | undefined;
  try {
    gid = String(fs.statSync(files.socket).gid);
  } catch {
    gid = groups.find((g) => g[0] === 'docker')?.[2];
  }
  const g = gid === undefined ? undefined : groups.find((r) => r[2] === gid);
  if (!g || g[2] === '0') return undefined;
  const member = pw[3] === g[2] || (g[3] ?? '').split(',').includes(user);
  return member ? g[0] : undefined;
}

/** plan's warning for such a pool, or none. */
export function dockerSocketPlanWarnings(user: string): string[] {
  const group = dockerSocketGroup(user);
  return group ? [dockerSocketWarning(user, group)[0]] : [];
}

/** The doctor text for a pool whose job user has the socket. */
export const dockerSocketWarning = (user: string, group: string) =>
  [`jobs run with ${user}'s group ${group}, which opens the Docker socket: a job can start a privileged container, i.e. become root on this host`,
    `remove ${user} from ${group} unless every workflow of this pool is trusted (a docker pool gives jobs containers without the socket)`] as const;
