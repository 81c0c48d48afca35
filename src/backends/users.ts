import crypto from 'node:crypto';
import { FleetError } from '../errors.js';
import type { CommandRunner } from './systemd/exec.js';

/**
 * Per-runner system users (systemd.isolation / process.isolation: per-runner, the default):
 * each runner of a pool runs as its own user in the pool user's group, so a job cannot read its
 * siblings' roots or their Listeners' /proc/<pid>/environ. systemd 252 refuses a numeric User=
 * without a passwd entry and DynamicUser= forces a private /tmp, hence real users, made and
 * removed here (shared by the systemd and process backends).
 *
 * Under the shipped unit (ProtectSystem=strict) /etc is read-only in the daemon's mount
 * namespace, so useradd cannot lock /etc/group. The daemon already asks PID 1 to start runner
 * units; it asks it the same way to run useradd/userdel as a transient unit outside the sandbox.
 * That adds no power: writing units to /etc/systemd/system is already root-equivalent.
 */

const isRoot = (u: string) => u === 'root' || u === '0';

/** Whether a runner gets its own user (root pools asked for root: nothing to separate). */
export function perRunner(isolation: 'per-runner' | 'shared', user: string | undefined): boolean {
  return isolation === 'per-runner' && user !== undefined && !isRoot(user);
}

/** rf-<13 hex>: deterministic (destroy finds it from the name alone), well under 32 characters. */
export function runnerUserName(runner: string): string {
  return `rf-${crypto.createHash('sha256').update(runner).digest('hex').slice(0, 13)}`;
}

/** The GECOS mark that makes a user ours: never remove a user we did not create. */
const mark = (runner: string) => `runner-fleet ${runner}`;

export interface RunnerUsers {
  /** Creates (or reuses, when ours) the runner's user; returns its name and group. */
  ensure(spec: { name: string; root: string }, poolUser: string, poolGroup: string | undefined): Promise<{ user: string; group: string }>;
  /** Removes the runner's user if it exists and is ours; absent is fine. */
  remove(runner: string): Promise<void>;
  /** The uid of the runner's user when it exists and is ours. */
  uidOf(runner: string): Promise<number | undefined>;
}

export function runnerUsers(run: CommandRunner): RunnerUsers {
  // useradd/userdel lock /etc/passwd and fail (not wait) when another holds it: one at a time.
  let chain: Promise<unknown> = Promise.resolve();
  const one = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = chain.then(fn, fn);
    chain = p.catch(() => undefined);
    return p;
  };

  // Decided once: /etc does not become writable while the daemon runs.
  let prefix: Promise<string[]> | undefined;
  const admin = async (argv: string[]) => {
    prefix ??= run(['test', '-w', '/etc']).then((r) =>
      r.code === 0 ? [] : ['systemd-run', '--wait', '--pipe', '--quiet', '--collect', '--service-type=exec', '--'],
    );
    // Exit 1/10: passwd or group file locked by someone else on the host (an admin, another
    // daemon); shadow's tools fail at once rather than wait, so wait for them.
    for (let attempt = 0; ; attempt++) {
      const r = await run([...(await prefix), ...argv]);
      if ((r.code !== 1 && r.code !== 10) || !/lock/i.test(r.stderr) || attempt >= 5) return r;
      await new Promise((resolve) => setTimeout(resolve, 100 * (attempt + 1)));
    }
  };

  async function entry(user: string): Promise<string[] | undefined> {
    const r = await run(['getent', 'passwd', user]);
    return r.code === 0 ? r.stdout.trim().split(':') : undefined;
  }

  async function must(argv: string[], what: string, exec = run): Promise<string> {
    const r = await exec(argv);
    if (r.code !== 0) throw new FleetError('BACKEND_FAILED', `${what} failed (${r.code}): ${r.stderr.trim()}`);
    return r.stdout.trim();
  }

  return {
    ensure: (spec, poolUser, poolGroup) =>
      one(async () => {
        const user = runnerUserName(spec.name);
        // The pool's group (shared read-only files stay readable) and its supplementary groups
        // (docker, for the docker CLI), so jobs keep what the pool user could use.
        const group = poolGroup ?? (await must(['id', '-gn', '--', poolUser], `id -gn ${poolUser}`));
        const existing = await entry(user);
        if (existing) {
          if (existing[4] !== mark(spec.name)) throw new FleetError('BACKEND_FAILED', `user ${user} exists and was not created by runner-fleet for ${spec.name}`);
          return { user, group };
        }
        const extra = (await must(['id', '-Gn', '--', poolUser], `id -Gn ${poolUser}`)).split(/\s+/).filter((g) => g && g !== group);
        await must(
          [
            'useradd', '--system', '--no-create-home', '--home-dir', spec.root, '--shell', '/usr/sbin/nologin',
            '--gid', group, ...(extra.length ? ['--groups', extra.join(',')] : []), '--comment', mark(spec.name), '--', user,
          ],
          `useradd ${user}`,
          admin,
        );
        return { user, group };
      }),
    async uidOf(runner) {
      const e = await entry(runnerUserName(runner));
      return e && e[4] === mark(runner) ? Number(e[2]) : undefined;
    },
    remove: (runner) =>
      one(async () => {
        const user = runnerUserName(runner);
        const existing = await entry(user);
        if (!existing || existing[4] !== mark(runner)) return;
        // 6: already gone (a concurrent destroy); anything else (8: still has processes) is retried by the caller.
        const r = await admin(['userdel', '--', user]);
        if (r.code !== 0 && r.code !== 6) throw new FleetError('BACKEND_FAILED', `userdel ${user} failed (${r.code}): ${r.stderr.trim()}`);
      }),
  };
}
