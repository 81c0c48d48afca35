import type { ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import type { Backend, BackendRef, ObservedRunner, RunnerExit, RunnerSpec } from '../types.js';
import { systemClock, type Clock } from '../../clock.js';
import { isRunnerName } from '../../config/names.js';
import { FleetError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { isSameProcess } from './procfs.js';
import { stopGroup } from './stop.js';
import { pidDir, pidFilePath, readExitFile, readPidRecord, removePidRecord, writePidRecord, type PidRecord } from './pidfile.js';
import { PidRecords } from './records.js';
import { ExitPoller } from '../exit-poller.js';
import { perRunnerLock } from '../runner-lock.js';
import { OutputEcho, tailFile } from './output.js';
import { startRunner, type Started } from './spawn.js';
import { findShim, listStarting, removeStarting, STARTING_SUFFIX, writeStarting } from './recover.js';
import type { Failpoint } from '../../daemon/failpoints.js';
import type { CgroupPaths } from './cgroup.js';
import { confinement as createConfinement } from './confine.js';
import { localRunner, type CommandRunner } from '../systemd/exec.js';
import { detectScopes, type ScopeSupport } from './scope.js';
import { runnerUsers } from '../users.js';
import { dropOwnUser, ownUser, useOwnUser } from './runner-user.js';

export interface ProcessBackendOptions {
  host: string;
  dataDir: string;
  logger: Logger;
  /** Paces the poll for adopted runners and stamps exits. */
  clock?: Clock;
  /** How often runners we did not start (adopted) are checked for exit. Default 1000 ms. */
  pollMs?: number;
  /** Repeat runner output lines to the logger at debug level (throttled). Default false. */
  echoOutput?: boolean;
  /** Crash tests: a point between spawning a runner and writing its pid file. */
  failpoint?: Failpoint;
  /** Where cgroups are read and made for pools with limits (tests: a fake layout). Default the host's. */
  cgroups?: CgroupPaths;
  /** Runners in their own transient scope (scope.ts). Default: when the host has them (root + systemd). */
  scopes?: ScopeSupport;
  /** Where systemctl runs (stopping scopes). Default: locally. */
  run?: CommandRunner;
}

type ExitInfo = { exitCode: number | null; signal: string | null; at: number };

/**
 * Runners as plain process groups: `{shim} {spec.command}` detached, with a pid file carrying
 * pid + /proc start time + argv so a restarted daemon adopts what still runs and never
 * mistakes (or signals) a recycled pid.
 */
export function createProcessBackend(opts: ProcessBackendOptions): Backend {
  const clock = opts.clock ?? systemClock;
  const log = opts.logger.child({ backend: 'process' });
  const pollMs = opts.pollMs ?? 1000;
  const children = new Map<string, { child: ChildProcess; rec: PidRecord; done: Promise<void> }>();
  /**
   * Running runners a previous daemon started: not our children, so no exit event; only these
   * are polled (/proc). Our own children report their exit as an event and cost nothing idle.
   */
  const adopted = new Map<string, PidRecord>();
  /** Exits seen, keyed name:pid:startTime, so each is reported once. */
  const exits = new Map<string, ExitInfo>();
  const echo = opts.echoOutput ? new OutputEcho(log) : undefined;
  const scopes = opts.scopes ?? detectScopes();
  const run = opts.run ?? localRunner;
  const users = runnerUsers(run);
  const confinement = createConfinement({ scopes, run, log, ...(opts.cgroups ? { cgroups: opts.cgroups } : {}) });
  if (!scopes.systemdRun) log.debug({ reason: scopes.reason }, 'process runners share the daemon\'s cgroup (no transient scopes)');

  const key = (r: PidRecord) => `${r.name}:${r.pid}:${r.startTime}`;

  const serialized = perRunnerLock();
  /** The pid files' content, read once: list() answers from here (records.ts). */
  const records = new PidRecords(opts.dataDir, serialized);
  /** Creates in flight here: their markers are theirs, not a crash's. */
  const creating = new Set<string>();

  function emit(rec: PidRecord, info: ExitInfo): void {
    if (exits.has(key(rec))) return;
    exits.set(key(rec), info);
    echo?.forget(rec.name);
    const e: RunnerExit = { name: rec.name, exitCode: info.exitCode, signal: info.signal, at: info.at };
    log.info({ runner: rec.name, pid: rec.pid, exitCode: info.exitCode, signal: info.signal }, 'runner process exited');
    exitPoller.emit(e);
  }

  /** The shim's exit file is the truth; without one (SIGKILL) fall back to what we know. */
  async function exitInfo(rec: PidRecord, fallback?: { code: number | null; signal: NodeJS.Signals | null }): Promise<ExitInfo> {
    const fromFile = await readExitFile(rec.exitFile, rec.root).catch(() => undefined);
    if (fromFile) return { ...fromFile, at: clock.now() };
    return { exitCode: fallback?.signal ? null : (fallback?.code ?? null), signal: fallback?.signal ?? null, at: clock.now() };
  }

  function own({ child, record: rec, exited, logOffset }: Started): void {
    // Follow from before the spawn, not from whenever create() gets here: under load the
    // runner may already have written (and even exited) by then (the old race lost lines).
    void echo?.follow(rec.name, rec.logFile, logOffset);
    const done = exited.then(async (how) => {
      // The last lines before the exit, before emit() forgets the runner.
      await echo?.pump(rec.name, rec.logFile).catch(() => undefined);
      const info = await exitInfo(rec, how);
      if (children.get(rec.name)?.child === child) children.delete(rec.name);
      emit(rec, info);
    });
    children.set(rec.name, { child, rec, done });
    // The daemon may exit (shutdown mode keep) while runners go on; a later daemon adopts them.
    child.unref();
  }

  async function create(spec: RunnerSpec, signal?: AbortSignal): Promise<BackendRef> {
    signal?.throwIfAborted();
    if (!isRunnerName(spec.name)) throw new FleetError('BACKEND_FAILED', `invalid runner name "${spec.name}"`);
    return serialized(spec.name, async () => {
      const existing = await readPidRecord(opts.dataDir, spec.name);
      if (existing && existing.host !== opts.host) {
        throw new FleetError('BACKEND_FAILED', `runner ${spec.name}: pid file belongs to host ${existing.host}`);
      }
      if (existing && isSameProcess(existing)) return { name: spec.name, ref: String(existing.pid) };
      if (existing) {
        await removePidRecord(opts.dataDir, existing);
        records.delete(spec.name);
      }
      await fs.mkdir(pidDir(opts.dataDir), { recursive: true, mode: 0o700 });
      const exitFileDefault = pidFilePath(opts.dataDir, spec.name).replace(/\.json$/, '.exit');
      // Intent first: a crash between the spawn and the pid file is recovered by list() (recover.ts).
      creating.add(spec.name);
      let record: PidRecord;
      try {
        await writeStarting(opts.dataDir, { name: spec.name, pool: spec.pool, host: spec.host, root: spec.root, exitFileDefault, at: clock.now() });
        const placed = await confinement.place(spec);
        const runAs = ownUser(spec) ? { ...spec, user: await useOwnUser(spec, users) } : spec;
        const paths = { dataDir: opts.dataDir, exitFileDefault, ...(placed.scope ? { scope: placed.scope } : {}) };
        const started = await startRunner(runAs, paths, clock.now(), placed.join).catch(async (err) => {
          await placed.undo();
          throw err;
        });
        own(started);
        record = started.record;
        await opts.failpoint?.('process.spawned', spec.name);
        await writePidRecord(opts.dataDir, record);
        records.set(record);
      } finally {
        await removeStarting(opts.dataDir, spec.name);
        creating.delete(spec.name);
      }
      log.info({ runner: spec.name, pool: spec.pool, pid: record.pid }, 'runner process started');
      return { name: spec.name, ref: String(record.pid) };
    });
  }

  async function destroy(name: string, o: { graceMs: number }, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    return serialized(name, async () => {
      const rec = await readPidRecord(opts.dataDir, name);
      // Another host's runner (shared data dir) is not ours to stop or forget.
      if (rec && rec.host !== opts.host) return;
      // A create that failed after making the runner's user: the user still goes.
      if (!rec) return dropOwnUser(name, users, log);
      // Never signal a pid that is not provably ours (start time + argv).
      if (isSameProcess(rec)) await stopGroup(rec, o.graceMs, log);
      // Let our own child's exit be reported first, then forget the runner entirely.
      const mine = children.get(name);
      if (mine?.rec.pid === rec.pid) await Promise.race([mine.done, delay(1000)]);
      // What left the process group (setsid, double fork) dies with the scope or group, and
      // every process of the runner's own user: none may outlive it while its root is removed.
      await confinement.release(name);
      await dropOwnUser(name, users, log);
      await removePidRecord(opts.dataDir, rec);
      records.delete(name);
      adopted.delete(name);
      for (const k of exits.keys()) if (k.startsWith(`${name}:`)) exits.delete(k);
      echo?.forget(name);
    });
  }

  /** Runners a daemon spawned but was killed before recording: adopted, never left unknown. */
  async function recoverStarting(entries: string[]): Promise<void> {
    // The common case, no marker: no second look at the directory.
    if (!entries.some((e) => e.endsWith(STARTING_SUFFIX))) return;
    for (const m of await listStarting(opts.dataDir)) {
      if (m.host !== opts.host || creating.has(m.name)) continue;
      await serialized(m.name, async () => {
        // A create of ours in flight holds the lock and removes the marker itself.
        if (!(await listStarting(opts.dataDir)).some((x) => x.name === m.name)) return;
        if (!(await readPidRecord(opts.dataDir, m.name))) {
          const rec = findShim(m, clock.now());
          if (rec) {
            await writePidRecord(opts.dataDir, rec);
            records.set(rec);
            log.warn({ runner: m.name, pid: rec.pid }, 'recorded a runner whose start a crash interrupted');
          }
        }
        await removeStarting(opts.dataDir, m.name);
      });
    }
  }

  async function list(signal?: AbortSignal): Promise<ObservedRunner[]> {
    signal?.throwIfAborted();
    await recoverStarting(await records.sync());
    const out: ObservedRunner[] = [];
    for (const rec of records.values()) {
      if (rec.host !== opts.host) continue;
      const base = { name: rec.name, pool: rec.pool, backend: 'process' as const, startedAt: rec.startedAt, ref: String(rec.pid) };
      // Our own child says itself whether it runs (its exit is an event): no /proc read. Only
      // a runner another daemon started is looked up, and then polled for its exit.
      const mine = children.get(rec.name);
      const own = mine?.rec.pid === rec.pid ? mine : undefined;
      if (own ? !hasExited(own.child) : isSameProcess(rec)) {
        if (!own) adopted.set(rec.name, rec);
        out.push({ ...base, state: 'running' });
      } else {
        // Its exit status (the signal above all) arrives with its exit event.
        if (own && !exits.has(key(rec))) await Promise.race([own.done, delay(1000)]);
        const info = exits.get(key(rec)) ?? (await exitInfo(rec));
        const oom = (await confinement.oomKills(rec.name)) > 0;
        out.push({ ...base, state: 'exited', exitCode: info.exitCode, ...(info.signal ? { signal: info.signal } : {}), ...(oom ? { oomKilled: true } : {}) });
      }
    }
    return out;
  }

  /** Exits of runners a previous daemon started: they are not our children, so poll /proc. */
  async function pollOnce(): Promise<void> {
    if (echo) for (const { rec } of children.values()) await echo.pump(rec.name, rec.logFile);
    for (const rec of [...adopted.values()]) {
      if (exits.has(key(rec))) continue;
      if (isSameProcess(rec)) {
        await echo?.follow(rec.name, rec.logFile);
        await echo?.pump(rec.name, rec.logFile);
        continue;
      }
      // Under the name's lock, and only if destroy has not removed it meanwhile.
      await serialized(rec.name, async () => {
        const now = records.get(rec.name);
        if (now && key(now) === key(rec)) emit(rec, await exitInfo(rec));
        if (adopted.get(rec.name) === rec) adopted.delete(rec.name);
      });
    }
  }

  /** Once per watch: the runners already running when this daemon started. */
  async function seedAdopted(): Promise<void> {
    await records.sync();
    for (const rec of records.values()) {
      if (rec.host === opts.host && children.get(rec.name)?.rec.pid !== rec.pid && isSameProcess(rec)) adopted.set(rec.name, rec);
    }
  }

  let seeded = false;
  const exitPoller = new ExitPoller({
    poll: async () => {
      if (!seeded) {
        seeded = true;
        await seedAdopted();
      }
      await pollOnce();
    },
    clock,
    pollMs,
    onError: (err, where) => (where === 'poll' ? log.warn({ err }, 'process poll failed') : log.error({ err }, 'exit listener failed')),
  });

  return {
    kind: 'process',
    create,
    destroy,
    list,
    watch: (onExit) => exitPoller.subscribe(onExit),
    async logs(name, o) {
      const rec = await readPidRecord(opts.dataDir, name);
      return rec && rec.host === opts.host ? tailFile(rec.logFile, o.tail) : '';
    },
    async ping() {},
    async close() {
      exitPoller.close();
    },
  };
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}
