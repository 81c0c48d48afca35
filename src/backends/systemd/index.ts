import path from 'node:path';
import { systemClock, type Clock } from '../../clock.js';
import { isRunnerName } from '../../config/names.js';
import { DEFAULT_SYSTEMD_ISOLATION } from '../../config/types.js';
import { FleetError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { perRunnerLock } from '../runner-lock.js';
import type { Backend, BackendRef, ObservedRunner, RunnerExit, RunnerSpec } from '../types.js';
import { localFiles, localRunner, type CommandRunner, type HostFiles } from './exec.js';
import { mainGone, SHOW_PROPS, toObserved } from './state.js';
import { Systemctl, type UnitProps } from './systemctl.js';
import { envFileFor, parseUnitKeys, renderUnit, runAsUser, UNIT_PREFIX, unitName, type UnitPaths } from './unit.js';
import { perRunner, runnerUsers } from '../users.js';
import { createWatcher } from './watch.js';

export type { CommandRunner, CommandResult, HostFiles } from './exec.js';
export { localRunner, localFiles, runnerFiles } from './exec.js';
export { renderUnit, unitName } from './unit.js';

export interface SystemdBackendOptions {
  host: string;
  logger: Logger;
  /** Where systemctl/journalctl/chown run. Default: locally. Tests: `docker exec` into a systemd container. */
  run?: CommandRunner;
  /** Where unit and env files are written. Default: the local file system. */
  files?: HostFiles;
  /** Default /etc/systemd/system. */
  unitDir?: string;
  /** Secret env files and generated resolv.conf/hosts; tmpfs so secrets never hit a disk. Default /run/runner-fleet. */
  envDir?: string;
  clock?: Clock;
  /** watch() poll interval and destroy()'s stop poll. Default 2000 / 200 ms. */
  pollMs?: number;
  stopPollMs?: number;
  /** The unit's TimeoutStopSec (systemctl stop / host shutdown). Default 30 s. */
  stopTimeoutSec?: number;
}

const ACTIVE = new Set(['active', 'activating', 'reloading']);

export function createSystemdBackend(opts: SystemdBackendOptions): Backend {
  const run = opts.run ?? localRunner;
  const files = opts.files ?? localFiles;
  const unitDir = opts.unitDir ?? '/etc/systemd/system';
  const envDir = opts.envDir ?? '/run/runner-fleet';
  const clock = opts.clock ?? systemClock;
  const stopPollMs = opts.stopPollMs ?? 200;
  const log = opts.logger.child({ backend: 'systemd' });
  const sc = new Systemctl(run);
  const homes = new Map<string, string | undefined>();
  const serialized = perRunnerLock();
  const users = runnerUsers(run);

  const pathsFor = (name: string): UnitPaths => ({ envFile: path.join(envDir, `${name}.env`) });
  const unitFile = (name: string) => path.join(unitDir, unitName(name));

  function checkName(name: string): void {
    // Ownership is decided by the unit's X-RunnerFleetHost key, not by the name's prefix.
    if (!isRunnerName(name)) {
      throw new FleetError('BACKEND_FAILED', `invalid runner name ${JSON.stringify(name)}`);
    }
  }

  /** Props of units this host owns (X-RunnerFleetHost / X-RunnerFleetRunner match), by runner name. */
  async function owned(units: string[], signal?: AbortSignal): Promise<Map<string, { unit: string; pool: string; props: UnitProps }>> {
    const out = new Map<string, { unit: string; pool: string; props: UnitProps }>();
    if (units.length === 0) return out;
    const [props, texts] = await Promise.all([sc.show(units, SHOW_PROPS, signal), sc.cat(units, signal)]);
    for (const unit of units) {
      const p = props.get(unit);
      const text = p?.FragmentPath ? texts.get(p.FragmentPath) : undefined;
      if (!p || text === undefined) continue;
      const keys = parseUnitKeys(text);
      const name = unit.slice(UNIT_PREFIX.length, -'.service'.length);
      if (keys.host !== opts.host || keys.runner !== name || !keys.pool) continue;
      out.set(name, { unit, pool: keys.pool, props: p });
    }
    return out;
  }

  /** null: no such unit at all; 'foreign': a unit under our name that we did not write. */
  async function lookup(name: string, signal?: AbortSignal): Promise<{ props: UnitProps; pool: string } | null | 'foreign'> {
    const unit = unitName(name);
    const mine = (await owned([unit], signal)).get(name);
    if (mine) return mine;
    const p = (await sc.show([unit], ['LoadState', 'FragmentPath'], signal)).get(unit);
    return p && p.LoadState !== 'not-found' && p.FragmentPath ? 'foreign' : null;
  }

  async function homeOf(user: string): Promise<string | undefined> {
    if (!homes.has(user)) {
      const r = await run(['getent', 'passwd', user]).catch(() => undefined);
      homes.set(user, r?.code === 0 ? r.stdout.trim().split(':')[5] : undefined);
    }
    return homes.get(user);
  }

  async function must(argv: string[], what: string, signal?: AbortSignal): Promise<void> {
    const r = await run(argv, { signal });
    if (r.code !== 0) throw new FleetError('BACKEND_FAILED', `${what} failed (${r.code}): ${r.stderr.trim()}`);
  }

  /** resolv.conf / hosts for the pool's dns / extraHosts, bind-mounted over the host's. */
  async function writeNetworkFiles(spec: RunnerSpec, paths: UnitPaths): Promise<void> {
    const dir = path.join(envDir, spec.name);
    if (spec.network.dns.length > 0) {
      paths.resolvConf = path.join(dir, 'resolv.conf');
      await files.write(paths.resolvConf, spec.network.dns.map((d) => `nameserver ${d}\n`).join(''), 0o644);
    }
    const extra = Object.entries(spec.network.extraHosts);
    if (extra.length > 0) {
      const base = await run(['cat', '/etc/hosts']);
      paths.hosts = path.join(dir, 'hosts');
      const lines = extra.map(([h, ip]) => `${ip}\t${h}\n`).join('');
      await files.write(paths.hosts, `${base.code === 0 ? base.stdout.replace(/\n?$/, '\n') : ''}${lines}`, 0o644);
    }
  }

  async function create(spec: RunnerSpec, signal?: AbortSignal): Promise<BackendRef> {
    checkName(spec.name);
    if (spec.host !== opts.host) throw new FleetError('BACKEND_FAILED', `spec for host ${spec.host} given to host ${opts.host}`);
    return serialized(spec.name, async () => {
      const unit = unitName(spec.name);
      const found = await lookup(spec.name, signal);
      if (found === 'foreign') throw new FleetError('BACKEND_FAILED', `${unit} exists and is not owned by runner-fleet host ${opts.host}`);
      if (found && ACTIVE.has(found.props.ActiveState ?? '') && found.props.SubState !== 'exited') return { name: spec.name, ref: unit };

      const pool = runAsUser(spec);
      const own = perRunner(spec.systemd?.isolation ?? DEFAULT_SYSTEMD_ISOLATION, spec.systemd?.user ?? spec.user) ? await users.ensure(spec, pool.user, pool.group) : undefined;
      const { user, group } = own ?? pool;
      // A per-runner user's home is its root (useradd --home-dir): writable, and nobody else's.
      const home = own ? spec.root : await homeOf(user);
      // The Listener writes .runner, _diag and _work into its root: it must own it. Files with more
      // than one link are hard links into the verified runner cache: chowning them would hand the
      // cache (used by every pool) to the job user, so they stay root's (0755 is enough to run).
      const owner = group ? `${user}:${group}` : `${user}:`;
      const linkedIntoCache = ['-type', 'f', '-links', '+1'];
      await must(['find', spec.root, '-not', '(', ...linkedIntoCache, ')', '-exec', 'chown', '-h', '--', owner, '{}', '+'], `chown ${spec.root}`, signal);
      // Siblings run as other users of the same group: the root is for its own user only.
      if (own) await must(['chmod', '0700', '--', spec.root], `chmod ${spec.root}`, signal);
      const paths = pathsFor(spec.name);
      await files.write(paths.envFile, envFileFor(spec), 0o600);
      await writeNetworkFiles(spec, paths);
      const text = renderUnit(spec, paths, { home, stopTimeoutSec: opts.stopTimeoutSec ?? 30, ...(own ? { runAs: own } : {}) });
      await files.write(unitFile(spec.name), text, 0o644);
      await sc.exec(['daemon-reload'], { signal, ok: [0] });
      await sc.exec(['reset-failed', '--', unit], { signal });
      await start(unit, signal);
      log.info({ runner: spec.name, unit, user }, 'runner unit started');
      return { name: spec.name, ref: unit };
    });
  }

  /**
   * `systemctl start` can report failure for a Listener that exits right after exec (the exit
   * races the start job). Once the process ran, its exit code is list()'s business; only a
   * unit that never ran (bad user, bad setting) is a create failure.
   */
  async function start(unit: string, signal?: AbortSignal): Promise<void> {
    const r = await sc.exec(['start', '--', unit], { signal });
    if (r.code === 0) return;
    const p = (await sc.show([unit], SHOW_PROPS, signal)).get(unit);
    const ran = p?.ExecMainCode && p.ExecMainCode !== '0' && Number(p.ExecMainStatus) < 200;
    if (!ran) {
      throw new FleetError('BACKEND_FAILED', `${unit} did not start (${p?.ExecMainStatus ?? '?'}): ${r.stderr.trim()}`);
    }
  }

  /** SIGINT to the Listener, wait up to graceMs for it to go, then stop (SIGKILL what is left). */
  async function stop(unit: string, props: UnitProps, graceMs: number, signal?: AbortSignal): Promise<void> {
    if (!mainGone(props)) {
      await sc.exec(['kill', '--kill-who=main', '--signal=SIGINT', '--', unit], { signal });
      const deadline = clock.now() + graceMs;
      let p: UnitProps | undefined = props;
      while (!mainGone(p) && clock.now() < deadline) {
        await clock.sleep(Math.min(stopPollMs, Math.max(1, deadline - clock.now())), signal);
        p = (await sc.show([unit], SHOW_PROPS, signal)).get(unit);
      }
      if (!mainGone(p)) {
        log.warn({ unit, graceMs }, 'runner did not stop within the grace period; killing it');
        await sc.exec(['kill', '--signal=SIGKILL', '--', unit], { signal });
      }
    }
    // Also cancels a pending auto-restart and kills leftover job processes (KillMode=mixed).
    await sc.exec(['stop', '--', unit], { signal, ok: [0, 5] });
  }

  async function destroy(name: string, o: { graceMs: number }, signal?: AbortSignal): Promise<void> {
    checkName(name);
    await serialized(name, async () => {
      const unit = unitName(name);
      const found = await lookup(name, signal);
      if (found === 'foreign') {
        log.warn({ unit }, 'not destroying a unit this host does not own');
        return;
      }
      if (found) await stop(unit, found.props, o.graceMs, signal);
      const paths = pathsFor(name);
      if (found) await files.remove(unitFile(name));
      await files.remove(paths.envFile);
      await files.remove(path.join(envDir, name));
      if (found) {
        await sc.exec(['daemon-reload'], { signal, ok: [0] });
        await sc.exec(['reset-failed', '--', unit], { signal });
      }
      // After the unit: its processes are gone, so userdel does not refuse. Also when the unit
      // was already gone (a create that failed after useradd, a destroy retried).
      await users.remove(name);
      if (!found) return;
      log.info({ runner: name, unit }, 'runner unit removed');
    });
  }

  async function list(signal?: AbortSignal): Promise<ObservedRunner[]> {
    // All runner-fleet units, then the X- keys: a unit under this host's name prefix may belong to
    // another host (`a` vs `a-b`), and ours are found whatever their name.
    const units = await sc.names(`${UNIT_PREFIX}*.service`, signal);
    const mine = await owned(units, signal);
    return [...mine.entries()].map(([name, m]) => toObserved(name, m.pool, m.unit, m.props));
  }

  const watcher = createWatcher({ list, clock, pollMs: opts.pollMs ?? 2000, logger: log });

  return {
    kind: 'systemd',
    create,
    destroy,
    list,
    watch: (onExit: (e: RunnerExit) => void) => watcher.subscribe(onExit),
    async logs(name, o) {
      checkName(name);
      const found = await lookup(name);
      if (!found || found === 'foreign') throw new FleetError('BACKEND_FAILED', `no runner unit ${unitName(name)} on this host`);
      const r = await run(['journalctl', '--no-pager', '-o', 'cat', '-n', String(o.tail), '-u', unitName(name)]);
      if (r.code !== 0) throw new FleetError('BACKEND_FAILED', `journalctl failed (${r.code}): ${r.stderr.trim()}`);
      return r.stdout;
    },
    async ping(signal) {
      await sc.exec(['--version'], { signal, ok: [0] });
      const r = await sc.exec(['is-system-running'], { signal });
      const state = r.stdout.trim();
      // degraded (some unrelated unit failed) is still a working systemd.
      if (!['running', 'degraded', 'starting', 'initializing'].includes(state)) {
        throw new FleetError('BACKEND_UNAVAILABLE', `systemd is not usable here (is-system-running: ${state || r.stderr.trim()})`);
      }
    },
    async close() {
      watcher.close();
    },
  };
}
