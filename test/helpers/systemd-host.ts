/**
 * A real systemd (PID 1) in a Docker container, for the systemd backend and provisioning tests.
 * The repo and the given dirs are bind-mounted at the SAME paths, `--network host` lets units
 * reach the emulator on 127.0.0.1. Commands run with `docker exec`: `host.run` is a
 * CommandRunner the systemd backend takes as-is, so the backend code under test is the
 * production code.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import { runnerFiles, type CommandResult, type CommandRunner, type HostFiles } from '../../src/backends/systemd/exec.js';
import { requireDocker, TEST_IMAGE } from './engines.js';
import { until } from './poll.js';

export const REPO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface SystemdHost {
  readonly id: string;
  /** docker exec argv in the container. */
  run: CommandRunner;
  /** Unit/env file writes into the container (for createSystemdBackend's `files`). */
  files: HostFiles;
  exec(argv: string[], opts?: { input?: string }): Promise<CommandResult>;
  /** bash -c script; throws with stderr when it exits non-zero. */
  sh(script: string): Promise<string>;
  close(): Promise<void>;
}

export interface SystemdHostOptions {
  /** Host dirs mounted at the same path (read-write). The repo is always mounted. */
  mounts?: string[];
  image?: string;
  /** Bound on waiting for boot. */
  bootTimeoutMs?: number;
}

function docker(args: string[], input?: string): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
    );
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

const RC_MARK = '__rf_exec_rc=';

/**
 * `docker exec` can lose a command's output under load (moby/moby#27289): a `systemctl
 * list-unit-files` that printed nothing would read as "no units". Each command therefore ends
 * its stdout with its exit code; when that trailer is missing the output was lost and the
 * command (all of ours are idempotent) runs again.
 */
async function execChecked(container: string, argv: string[], input?: string): Promise<CommandResult> {
  const wrapped = ['sh', '-c', `"$@"; rc=$?; printf '\\n${RC_MARK}%d\\n' "$rc"`, 'sh', ...argv];
  let last: CommandResult | undefined;
  for (let attempt = 0; attempt < 4; attempt++) {
    const r = await docker(['exec', '-i', container, ...wrapped], input);
    const at = r.stdout.lastIndexOf(`\n${RC_MARK}`);
    if (at >= 0) return { code: Number(r.stdout.slice(at + RC_MARK.length + 1).trim()), stdout: r.stdout.slice(0, at), stderr: r.stderr };
    // No trailer and docker itself failed (no such container, daemon error): that is the answer.
    if (r.code !== 0 && /^Error/m.test(r.stderr)) return r;
    last = r;
  }
  throw new Error(`docker exec ${container} ${argv.join(' ')}: output lost 4 times (last exit ${last?.code})`);
}

export async function startSystemdHost(opts: SystemdHostOptions = {}): Promise<SystemdHost> {
  const name = `rf-systemd-${randomBytes(4).toString('hex')}`;
  // A worktree's node_modules may be a link to another checkout's: mount where it points too.
  const modules = realpathSync(path.join(REPO_DIR, 'node_modules'));
  const mounts = [...new Set([REPO_DIR, ...(modules.startsWith(`${REPO_DIR}/`) ? [] : [modules]), ...(opts.mounts ?? [])])];
  const args = [
    'run', '-d', '--name', name, '--label', 'io.runner-fleet.test=systemd-host',
    '--cap-add', 'SYS_ADMIN', '--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined',
    '--cgroupns=host', '-v', '/sys/fs/cgroup:/sys/fs/cgroup:rw', '--tmpfs', '/run', '--tmpfs', '/run/lock',
    '--network', 'host', '--hostname', name,
    ...mounts.flatMap((m) => ['-v', `${m}:${m}`]),
    opts.image ?? TEST_IMAGE, '/lib/systemd/systemd',
  ];
  const started = await docker(args);
  if (started.code !== 0) throw new Error(`docker run failed: ${started.stderr.trim()}`);

  const exec = (argv: string[], o: { input?: string } = {}) => execChecked(name, argv, o.input);
  const close = async () => {
    await docker(['rm', '-f', '-v', name]);
  };
  try {
    await waitBooted(exec, opts.bootTimeoutMs ?? 60_000);
    // Docker's /run tmpfs is a private mount; systemd's credential (LoadCredential) and
    // namespace setup expect shared propagation, as on a real host.
    const shared = await exec(['mount', '--make-rshared', '/']);
    if (shared.code !== 0) throw new Error(`mount --make-rshared failed: ${shared.stderr}`);
  } catch (err) {
    const logs = await docker(['logs', '--tail', '30', name]);
    await close();
    throw new Error(`systemd container did not boot: ${(err as Error).message}\n${logs.stdout}${logs.stderr}`);
  }
  const run: CommandRunner = (argv, o = {}) => exec(argv, o);
  return {
    id: name,
    run,
    files: runnerFiles(run),
    exec,
    async sh(script) {
      const r = await exec(['bash', '-c', script]);
      if (r.code !== 0) throw new Error(`in ${name}: bash -c ${JSON.stringify(script)} exited ${r.code}: ${r.stderr.trim()}`);
      return r.stdout;
    },
    close,
  };
}

async function waitBooted(exec: (argv: string[]) => Promise<CommandResult>, timeoutMs: number): Promise<void> {
  await until(async () => {
    const r = await exec(['systemctl', 'is-system-running']);
    const state = r.stdout.trim() || r.stderr.trim();
    return state === 'running' || state === 'degraded';
  }, timeoutMs, 'systemd to finish booting (is-system-running)', 250);
}

/**
 * Docker + test images (engines.ts), then a booted systemd container torn down with the test.
 * Fails the test (never skips) when the engine is missing.
 */
export async function requireSystemdHost(t: ExecutionContext, opts: SystemdHostOptions = {}): Promise<SystemdHost | undefined> {
  if (!(await requireDocker(t))) return undefined;
  const host = await startSystemdHost(opts);
  t.teardown(() => host.close());
  return host;
}
