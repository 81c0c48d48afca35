import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { DEFAULT_PROCESS_ISOLATION } from '../../config/types.js';
import type { Logger } from '../../log.js';
import { chownTree } from '../../runner/prepare.js';
import type { RunnerSpec } from '../types.js';
import { perRunner, type RunnerUsers } from '../users.js';
import { pidsOfUid } from './procfs.js';
import { resolveGroup, resolveUser } from './user.js';

/**
 * Per-runner users for process pools (process.isolation: per-runner, the default with
 * process.user), as the systemd backend does: `rf-<13 hex>` in the pool user's group and its
 * supplementary groups, the runner root its own (0700). Siblings of one pool no longer share a
 * uid, so a job cannot read another runner's root, .credentials_rsaparams or Listener environ.
 */

const isRootDaemon = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** Whether this runner gets its own user. */
export function ownUser(spec: RunnerSpec): boolean {
  const p = spec.process;
  return !!p && isRootDaemon() && perRunner(p.isolation ?? DEFAULT_PROCESS_ISOLATION, p.user);
}

/**
 * Makes (or reuses) the runner's own user and hands it the runner root; returns the spec's
 * `user` ("uid:gid") to run as. The root was prepared for the pool user: hard links into the
 * verified cache stay root's (chownTree skips them).
 */
export async function useOwnUser(spec: RunnerSpec, users: RunnerUsers): Promise<string> {
  const p = spec.process!;
  const { user, group } = await users.ensure(spec, p.user, p.group);
  const uid = resolveUser(user).uid;
  const gid = resolveGroup(group);
  chownTree(spec.root, uid, gid);
  await fs.chmod(spec.root, 0o700);
  return `${uid}:${gid}`;
}

/** How many kill rounds before giving up (a fork bomb racing kill(-1) loses within a few). */
const KILL_ROUNDS = 40;

/**
 * Every process of the runner's own user dies, setsid'd and double-forked ones included: kill(-1)
 * sent as that user reaches all of its processes at once (the kernel walks them), so nothing
 * forks past it; repeated until /proc shows none. Returns false when some survived.
 */
export async function killUser(uid: number, gid: number): Promise<boolean> {
  for (let i = 0; i < KILL_ROUNDS; i++) {
    if (pidsOfUid(uid).length === 0) return true;
    await new Promise<void>((resolve) => {
      execFile('/bin/sh', ['-c', 'kill -9 -1'], { uid, gid, env: {}, timeout: 5000 }, () => resolve());
    });
    await delay(i < 5 ? 10 : 50);
  }
  return pidsOfUid(uid).length === 0;
}

/** After the runner stopped: its user's processes killed, then the user removed (when ours). */
export async function dropOwnUser(name: string, users: RunnerUsers, log: Logger): Promise<void> {
  if (!isRootDaemon()) return;
  const uid = await users.uidOf(name);
  if (uid === undefined) return;
  if (!(await killUser(uid, uid))) log.warn({ runner: name, uid }, 'processes of the runner user survived SIGKILL');
  await users.remove(name);
}
