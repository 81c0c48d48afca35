import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants as fsc, fstatSync, openSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { RunnerSpec } from '../types.js';
import { FleetError } from '../../errors.js';
import { setTimeout as delay } from 'node:timers/promises';
import { readProc, type ProcInfo } from './procfs.js';
import { findTool } from './scope.js';
import type { PidRecord } from './pidfile.js';
import { hasPasswdEntry, idsFor, type UnixIds } from './user.js';
import { LOAD_SECRETS, SECRET_FILE, renderSecretFile } from '../secret-file.js';

/**
 * The supervisor shim: a POSIX sh that runs the runner as its child and writes the child's
 * exit status to a file, so even a runner adopted by a later daemon (not our child, no
 * waitpid) reports its real exit code.
 *
 * Why not exec: the shim must outlive the runner to record its status. Signals still reach
 * the Listener because we always signal the whole process group (the shim is its leader,
 * spawned detached). `trap :` keeps the shim alive through INT/TERM/HUP while the Listener
 * decides what to do; a trap with a handler (unlike `trap ''`) is reset to default in the
 * child at exec, so the Listener sees the signals normally. Only SIGKILL takes out the shim
 * (then no exit file: the code is unknown, reported as null). ~1 MB of RSS per runner.
 *
 * Secrets (JIT config, registration token, secretEnv) never enter the shim's environment, which
 * lives as long as the runner and which its job (same user) could read from /proc: they wait in
 * a 0600 file in the runner's root that only the forked child loads and deletes before it execs
 * the runner. Once the runner runs, the file is gone.
 */
export const SHIM_SCRIPT =
  'trap : INT TERM HUP; f=$1; s=$2; shift 2; ' +
  `( ${LOAD_SECRETS} ); c=$?; ` +
  'printf "%s\\n" "$c" > "$f.tmp" && mv -f "$f.tmp" "$f"; exit $c';
export const SHIM_ARGV0 = 'rf-shim';
const SH = '/bin/sh';

export interface Started {
  child: ChildProcess;
  record: PidRecord;
  /** Settles when the shim exits; subscribed at spawn time so a fast exit is never missed. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Size of the (appended) log before this spawn: this runner's output starts here. */
  logOffset: number;
}

export interface SpawnPaths {
  dataDir: string;
  /** {dataDir}/process/{name}.exit */
  exitFileDefault: string;
  /** `systemd-run --scope ... --`: the runner's own scope (scope.ts), when the host has them. */
  scope?: string[];
}

/** How long systemd-run (a round trip to PID 1) and setpriv may take to reach the shim. */
const EXEC_WAIT_MS = 15_000;

/**
 * setpriv switches to the runner's user with that user's groups (initgroups), as systemd's
 * User= does: the pool user's supplementary groups (docker) keep working. libuv's uid/gid
 * switch (the fallback) drops them all. A uid without a passwd entry gets no supplementary group.
 */
function setprivPrefix(ids: UnixIds): string[] | undefined {
  const bin = findTool('setpriv');
  if (!bin) return undefined;
  const groups = hasPasswdEntry(ids.uid) ? '--init-groups' : '--clear-groups';
  return [bin, `--reuid=${ids.uid}`, `--regid=${ids.gid}`, groups, '--'];
}

async function shimExec(pid: number, argv: string[], exited: Promise<unknown>): Promise<ProcInfo | null> {
  let done = false;
  void exited.then(() => (done = true));
  const deadline = Date.now() + EXEC_WAIT_MS;
  for (;;) {
    const info = readProc(pid);
    if (!info || info.state === 'Z' || done) return info;
    if (info.cmdline.length === argv.length && info.cmdline.every((v, i) => v === argv[i])) return info;
    if (Date.now() > deadline) throw new FleetError('BACKEND_FAILED', `pid ${pid} did not become the runner shim within ${EXEC_WAIT_MS} ms (${info.cmdline[0]})`);
    await delay(5);
  }
}

/**
 * With a cgroup to join, the shim first waits for one line on stdin: the daemon moves it into
 * the group, then says go, so the runner and every job process start inside the limits. No
 * line (the daemon died first) → the runner never starts unlimited.
 */
const GATE = 'IFS= read -r rf_go || exit 125; exec </dev/null; ';

/**
 * Starts the runner under the shim; resolves once the process exists and is identified.
 * `join`: puts the shim's pid in the runner's cgroup before it starts anything.
 */
export async function startRunner(spec: RunnerSpec, paths: SpawnPaths, now: number, join?: (pid: number) => Promise<void>): Promise<Started> {
  await checkRunnable(spec);
  const ids = idsFor(spec.user);
  const logFile = path.join(spec.root, '_diag', 'rf-process.log');
  await ensureDir(path.dirname(logFile), ids);
  // A runner running as another user cannot write into the daemon's 0700 data dir.
  const exitFile = ids ? path.join(spec.root, '.rf', 'process-exit') : paths.exitFileDefault;
  await ensureDir(path.dirname(exitFile), ids);
  await fs.rm(exitFile, { force: true });

  const secrets = path.join(spec.root, SECRET_FILE);
  await writeSecretFile(secrets, spec.secretEnv, ids);
  const argv = [SH, '-c', (join ? GATE : '') + SHIM_SCRIPT, SHIM_ARGV0, exitFile, secrets, ...spec.command];
  // systemd-run (into the scope) and setpriv (to the runner's user) each exec the next: one pid.
  const setpriv = ids ? setprivPrefix(ids) : undefined;
  const launch = [...(paths.scope ?? []), ...(setpriv ?? []), ...argv];
  // The log lives in the job-writable root: never follow a link a previous job planted there,
  // never block on a FIFO, append only to a regular file.
  const fd = openLog(logFile);
  let child: ChildProcess;
  let logOffset = 0;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new FleetError('RUNNER_FILE_REFUSED', `${logFile} is not a regular file`);
    logOffset = st.size;
    child = spawn(launch[0]!, launch.slice(1), {
      cwd: spec.root,
      // Only what the config built: nothing of the daemon's own environment (its token above all).
      env: { ...spec.env },
      detached: true,
      stdio: [join ? 'pipe' : 'ignore', fd, fd],
      // Without setpriv, libuv switches users (and drops every supplementary group).
      ...(ids && !setpriv ? { uid: ids.uid, gid: ids.gid } : {}),
    });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) throw await spawnError(child, spec.name);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  if (join) await openGate(child, join, spec.name);
  // libuv returns after exec and reaps only on a later loop turn: /proc is readable right now.
  // Through systemd-run/setpriv the shim is only there once they have exec'd: its argv is how a
  // later daemon recognises it, so wait for it (or for the exit, which the event reports).
  const info = launch.length === argv.length ? readProc(child.pid) : await shimExec(child.pid, argv, exited);
  const record: PidRecord = {
    name: spec.name,
    pool: spec.pool,
    host: spec.host,
    pid: child.pid,
    startTime: info?.startTime ?? '',
    cmdline: argv,
    startedAt: now,
    root: spec.root,
    logFile,
    exitFile,
  };
  return { child, record, exited, logOffset };
}

async function checkRunnable(spec: RunnerSpec): Promise<void> {
  const cmd = spec.command[0];
  if (!cmd || !path.isAbsolute(cmd)) {
    throw new FleetError('BACKEND_FAILED', `runner ${spec.name}: command must be an absolute path`);
  }
  try {
    await fs.access(cmd, fsc.X_OK);
    const st = await fs.stat(spec.root);
    if (!st.isDirectory()) throw new Error(`${spec.root} is not a directory`);
  } catch (err) {
    throw new FleetError('BACKEND_FAILED', `runner ${spec.name}: cannot run ${cmd} in ${spec.root}`, { cause: err });
  }
}

function openLog(file: string): number {
  try {
    return openSync(file, fsc.O_WRONLY | fsc.O_APPEND | fsc.O_CREAT | fsc.O_NOFOLLOW | fsc.O_NONBLOCK, 0o640);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ELOOP: a symlink; ENXIO: a FIFO nobody reads.
    if (code === 'ELOOP' || code === 'ENXIO') throw new FleetError('RUNNER_FILE_REFUSED', `${file} is not a regular file`, { cause: err });
    throw err;
  }
}

/** mkdir -p; a dir we create for a runner user is theirs (the Listener writes _diag itself). */
async function ensureDir(dir: string, ids: UnixIds | undefined): Promise<void> {
  const created = await fs.mkdir(dir, { recursive: true });
  // _diag and .rf sit in the job-writable root: a link a previous job left there would send the
  // daemon's writes (the log, the secret file) into a directory of the job's choosing.
  const st = await fs.lstat(dir);
  if (!st.isDirectory()) throw new FleetError('RUNNER_FILE_REFUSED', `${dir} is not a directory (a link?)`);
  if (created && ids) await fs.chown(dir, ids.uid, ids.gid);
}

/** sh syntax, single-quoted; written fresh (never through a link a job left in its root). */
async function writeSecretFile(file: string, secretEnv: Record<string, string>, ids: UnixIds | undefined): Promise<void> {
  await ensureDir(path.dirname(file), ids);
  const tmp = `${file}.tmp`;
  await fs.rm(tmp, { force: true });
  await fs.writeFile(tmp, renderSecretFile(secretEnv), { mode: 0o600, flag: 'wx' });
  if (ids) await fs.chown(tmp, ids.uid, ids.gid);
  await fs.rename(tmp, file);
}

async function openGate(child: ChildProcess, join: (pid: number) => Promise<void>, name: string): Promise<void> {
  child.stdin?.on('error', () => undefined); // EPIPE if the shim is gone: its exit says the rest
  try {
    await join(child.pid!);
  } catch (err) {
    child.kill('SIGKILL');
    child.stdin?.destroy();
    throw new FleetError('BACKEND_FAILED', `runner ${name}: cannot move it into its cgroup`, { cause: err });
  }
  child.stdin?.end('go\n');
}

function spawnError(child: ChildProcess, name: string): Promise<FleetError> {
  return new Promise((resolve) => {
    child.once('error', (err) => resolve(new FleetError('BACKEND_FAILED', `runner ${name}: spawn failed`, { cause: err })));
  });
}
