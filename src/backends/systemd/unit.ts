import path from 'node:path';
import { FleetError } from '../../errors.js';
import type { RunnerSpec } from '../types.js';
import { unitName } from './names.js';

export const UNIT_PREFIX = 'runner-fleet-';
export const KEY_HOST = 'X-RunnerFleetHost';
export const KEY_POOL = 'X-RunnerFleetPool';
export const KEY_RUNNER = 'X-RunnerFleetRunner';
export const KEY_HOST_ID = 'X-RunnerFleetHostId';

export { unitName };

export interface UnitPaths {
  /** Secret env file (0600, root): systemd (PID 1) reads it, the runner user cannot. */
  envFile: string;
  /** Generated resolv.conf / hosts for pools with dns / extraHosts (bind-mounted read-only). */
  resolvConf?: string;
  hosts?: string;
}

export interface UnitOptions {
  /** The runner user's home, made writable (docker login, git config --global need it). */
  home?: string;
  /** systemd's stop timeout: the backstop after SIGINT for `systemctl stop` / shutdown. */
  stopTimeoutSec: number;
  /** The runner's own user and the pool's group (systemd.isolation: per-runner), else the pool's user. */
  runAs?: { user: string; group: string };
}

/** `%` is a specifier in almost every unit setting. */
const pct = (s: string) => s.replace(/%/g, '%%');

// systemd ends a unit line at \n, \r or \0: every control character is C-escaped (\xNN).
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/g;
const hexEscape = (c: string) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;

/** One ExecStart= word: quoted, C-escaped; `$` doubled because ExecStart expands $VAR. */
export function quoteExecArg(s: string): string {
  const body = s
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\t/g, '\\t')
    .replace(CONTROL, hexEscape)
    .replace(/%/g, '%%')
    .replace(/\$/g, () => '$$');
  return `"${body}"`;
}

/** One Environment= assignment (no $ expansion there, but specifiers and C escapes apply). */
export function quoteEnvAssignment(key: string, value: string): string {
  const body = `${key}=${value}`.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(CONTROL, hexEscape).replace(/%/g, '%%');
  return `"${body}"`;
}

/** A value written bare into a unit line (User=, WorkingDirectory=...): one plain line or nothing. */
function bare(value: string, what: string): string {
  if (/[\x00-\x1f\x7f]/.test(value)) throw new FleetError('BACKEND_FAILED', `${what} contains a line break or control character: ${JSON.stringify(value)}`);
  return value;
}

/** User=/Group=: a POSIX-ish name or a numeric id, as config validation allows. */
function unixName(value: string, what: string): string {
  if (!/^(?:[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?|\d+)$/.test(value)) {
    throw new FleetError('BACKEND_FAILED', `${what} is not a valid user or group name: ${JSON.stringify(value)}`);
  }
  return value;
}

/** A URL with user:password (a proxy): a secret, like the registration token. */
const hasCredentials = (v: string) => /^[a-z][a-z0-9+.-]*:\/\/[^/?#@\s]*@/i.test(v);

/** Environment= lines (world-readable) get the plain values; credentials go to the env file. */
export function splitEnv(env: Record<string, string>): { plain: Record<string, string>; secret: Record<string, string> } {
  const plain: Record<string, string> = {};
  const secret: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) (hasCredentials(v) ? secret : plain)[k] = v;
  return { plain, secret };
}

/** The 0600 EnvironmentFile: secretEnv plus any env value that carries credentials. */
export function envFileFor(spec: RunnerSpec): string {
  return renderEnvFile({ ...splitEnv(spec.env).secret, ...spec.secretEnv });
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** EnvironmentFile= syntax: double-quoted, POSIX-shell escapes; newlines kept verbatim. */
export function renderEnvFile(env: Record<string, string>): string {
  const lines = Object.entries(env).map(([k, v]) => {
    checkEnvName(k);
    return `${k}="${v.replace(/[\\"`$]/g, (c) => `\\${c}`)}"`;
  });
  return lines.length ? `${lines.join('\n')}\n` : '';
}

function checkEnvName(k: string): void {
  if (!ENV_NAME.test(k)) throw new FleetError('BACKEND_FAILED', `invalid environment variable name ${JSON.stringify(k)}`);
}

/** Paths go into space-separated unit settings unquoted: keep them plain. */
function checkPath(p: string, what: string): void {
  if (!path.isAbsolute(p) || /[\s"'\\;\x00-\x1f\x7f]/.test(p)) {
    throw new FleetError('BACKEND_FAILED', `${what} must be an absolute path without spaces, quotes or backslashes: ${p}`);
  }
}

const under = (p: string, dir: string) => p === dir || p.startsWith(`${dir}/`);

export function runAsUser(spec: RunnerSpec): { user: string; group?: string } {
  const user = spec.systemd?.user ?? spec.user;
  if (!user) throw new FleetError('BACKEND_FAILED', `runner ${spec.name}: a systemd pool needs systemd.user`);
  const group = spec.systemd?.group;
  return { user: unixName(user, 'systemd.user'), ...(group !== undefined ? { group: unixName(group, 'systemd.group') } : {}) };
}

/**
 * The runner's unit. Modelled on actions.runner.service.template, but ExecStart is the Listener
 * itself (spec.command) so systemd sees its real exit codes (docs/runner-facts.md §1).
 */
export function renderUnit(spec: RunnerSpec, paths: UnitPaths, opts: UnitOptions): string {
  checkPath(spec.root, 'runner root');
  for (const m of spec.mounts) checkPath(m.source, 'mount source');
  if (spec.command.length === 0) throw new FleetError('BACKEND_FAILED', `runner ${spec.name}: empty command`);
  const { user, group } = opts.runAs ? { user: unixName(opts.runAs.user, 'runner user'), group: unixName(opts.runAs.group, 'pool group') } : runAsUser(spec);
  const lines = [
    `# Generated by runner-fleet for runner ${spec.name}: rewritten on create, removed on destroy.`,
    '# Secrets live in the EnvironmentFile (0600, root), never here: this file is world-readable.',
    '[Unit]',
    `Description=runner-fleet runner ${bare(spec.name, 'runner name')} (pool ${bare(spec.pool, 'pool name')})`,
    'After=network-online.target',
    'Wants=network-online.target',
    // RunnerService.js gives up after 10 failed starts in a row; same here, then the daemon replaces it.
    'StartLimitIntervalSec=10min',
    'StartLimitBurst=10',
    `${KEY_HOST}=${bare(spec.host, 'host name')}`,
    `${KEY_POOL}=${spec.pool}`,
    `${KEY_RUNNER}=${spec.name}`,
    ...(spec.hostId && /^[0-9a-f]+$/.test(spec.hostId) ? [`${KEY_HOST_ID}=${spec.hostId}`] : []),
    '',
    '[Service]',
    'Type=exec',
    `User=${user}`,
    ...(group ? [`Group=${group}`] : []),
    `WorkingDirectory=${pct(spec.root)}`,
    `ExecStart=${spec.command.map(quoteExecArg).join(' ')}`,
    ...Object.entries(splitEnv(spec.env).plain).map(([k, v]) => (checkEnvName(k), `Environment=${quoteEnvAssignment(k, v)}`)),
    `EnvironmentFile=${pct(paths.envFile)}`,
    ...restartPolicy(spec.ephemeral),
    // Keeps the unit loaded as active (exited) after a clean exit, so ExecMainStatus survives
    // until the daemon has seen it (an inactive unit may be unloaded and forget its exit code).
    'RemainAfterExit=yes',
    // SIGINT is the Listener's Ctrl-C: it cancels the job and exits 0. mixed: only the Listener
    // gets SIGINT (the Worker then stops its job steps in order); whatever job processes are
    // left get SIGKILL at the end, so no orphaned job process outlives its runner.
    'KillMode=mixed',
    'KillSignal=SIGINT',
    `TimeoutStopSec=${opts.stopTimeoutSec}`,
    ...limits(spec),
    ...networkFiles(paths),
    ...hardening(spec, user, opts.home),
    '',
  ];
  return lines.join('\n');
}

/**
 * pool.limits as cgroup settings of the unit. A job past MemoryMax is OOM-killed inside the
 * unit (job steps first: the job hook raises their oom_score_adj). OOMPolicy=stop then ends the
 * unit with Result=oom-kill, which the daemon reports as cause oom and replaces the runner.
 * The unit's OOMScoreAdjust stays 0: lowering it would shield job processes from the host's
 * OOM killer along with the Listener.
 */
function limits(spec: RunnerSpec): string[] {
  const l = spec.limits;
  if (!l) return [];
  const out: string[] = [];
  if (l.cpus) out.push(`CPUQuota=${Math.round(l.cpus * 100)}%`);
  if (l.memory) out.push(`MemoryMax=${l.memory}`, 'MemorySwapMax=0', 'OOMPolicy=stop');
  if (l.pids) out.push(`TasksMax=${l.pids}`);
  return out;
}

function restartPolicy(ephemeral: boolean): string[] {
  // Ephemeral: one job, then the daemon replaces the runner (new name, new JIT config).
  if (ephemeral) return ['Restart=no'];
  // Persistent, from the Listener's codes: 0 (stopped / registration deleted) is a success and
  // never restarts; 1 (not configured, session failed), 5 (session conflict) and 7 (version
  // deprecated) need the daemon's judgement, not a blind restart; 2 (retryable) and 3/4
  // (self-update staged) restart after 5 s, like RunnerService.js does.
  return ['Restart=on-failure', 'RestartSec=5', 'RestartPreventExitStatus=1 5 7'];
}

function networkFiles(paths: UnitPaths): string[] {
  const out: string[] = [];
  if (paths.resolvConf) out.push(`BindReadOnlyPaths=${pct(paths.resolvConf)}:/etc/resolv.conf`);
  if (paths.hosts) out.push(`BindReadOnlyPaths=${pct(paths.hosts)}:/etc/hosts`);
  return out;
}

/**
 * Hardening that jobs survive: bash, git, the docker CLI (docker group via the user's own
 * supplementary groups), writes to the runner root and the user's home. Operators relax or
 * tighten it per host or pool with a prefix drop-in: runner-fleet-{host}-{pool}-.service.d/.
 */
function hardening(spec: RunnerSpec, user: string, home: string | undefined): string[] {
  const roots = [spec.root, ...spec.mounts.map((m) => m.source)];
  // PrivateTmp would hide a runner root living in /tmp (test setups do that).
  const inTmp = roots.some((p) => under(p, '/tmp') || under(p, '/var/tmp'));
  const writable = [spec.root, ...spec.mounts.filter((m) => !m.readOnly).map((m) => m.source)];
  if (home && home !== '/' && path.isAbsolute(home) && !/[\s"'\\;]/.test(home)) writable.push(home);
  const out = [
    `PrivateTmp=${inTmp ? 'no' : 'yes'}`,
    'ProtectSystem=full',
    'ProtectHome=read-only',
    `ReadWritePaths=${writable.map((p) => `-${pct(p)}`).join(' ')}`,
    'ProtectControlGroups=yes',
    // Other users' processes vanish from /proc (siblings under per-runner users, the daemon).
    // ProcSubset=pid is left out: it hides /proc/cpuinfo, /proc/meminfo and /proc/stat, and
    // os.cpus(), free or the .NET GC's memory limit in jobs depend on them.
    'ProtectProc=invisible',
  ];
  // systemd.sudo asks for sudo back: that is root on the host, called out by plan and doctor.
  // For a non-root User= systemd implies NoNewPrivileges with any seccomp-based setting (and,
  // measured on 252, ProtectKernelTunables), so those go too; the mount-based ones above stay.
  if (spec.systemd?.sudo) return out;
  out.push(
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectKernelLogs=yes',
    'ProtectClock=yes',
    'ProtectHostname=yes',
    'RestrictRealtime=yes',
    'RestrictSUIDSGID=yes',
    'LockPersonality=yes',
    'SystemCallFilter=~@clock @cpu-emulation @module @obsolete @raw-io @reboot @swap',
    'SystemCallErrorNumber=EPERM',
  );
  // A non-root job user gains nothing from setuid binaries (sudo) once NoNewPrivileges is on;
  // a root pool (RUNNER_ALLOW_RUNASROOT) keeps its capabilities because it asked for them.
  if (user !== 'root' && user !== '0') out.push('NoNewPrivileges=yes', 'CapabilityBoundingSet=');
  return out;
}

export interface UnitKeys {
  host?: string;
  pool?: string;
  runner?: string;
}

/** Reads the X-RunnerFleet* keys of a unit file's [Unit] section. */
export function parseUnitKeys(text: string): UnitKeys {
  const keys: UnitKeys = {};
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[')) section = line;
    if (section !== '[Unit]') continue;
    const m = /^(X-RunnerFleet\w+)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === KEY_HOST) keys.host = m[2];
    if (m[1] === KEY_POOL) keys.pool = m[2];
    if (m[1] === KEY_RUNNER) keys.runner = m[2];
  }
  return keys;
}
