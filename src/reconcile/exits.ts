import { FleetError } from '../errors.js';

/**
 * What a runner's exit means (docs/runner-facts.md §1, supervising bin/Runner.Listener directly).
 * `failure` feeds the pool's crash-loop backoff; `lookup` means the registration may be gone
 * or stale, so it is deleted (or confirmed gone) before the runner is replaced.
 */
export interface ExitMeaning {
  failure: boolean;
  lookup: boolean;
  versionDeprecated: boolean;
  label: string;
}

export function classifyExit(code: number | null, ephemeral: boolean, ranJob: boolean): ExitMeaning {
  switch (code) {
    case 0:
      // Ephemeral after its job: GitHub already removed the registration; nothing to ask.
      if (ephemeral && ranJob) return { failure: false, lookup: false, versionDeprecated: false, label: 'job-done' };
      // A 0 with no job: the registration was deleted on the server (or we stopped it).
      return { failure: false, lookup: true, versionDeprecated: false, label: 'registration-gone' };
    case 1:
      return { failure: true, lookup: true, versionDeprecated: false, label: 'terminated' };
    case 2:
      return { failure: true, lookup: true, versionDeprecated: false, label: 'retryable' };
    case 3:
    case 4:
      return { failure: false, lookup: true, versionDeprecated: false, label: 'self-update' };
    case 5:
      return { failure: true, lookup: true, versionDeprecated: false, label: 'session-conflict' };
    case 7:
      return { failure: false, lookup: true, versionDeprecated: true, label: 'version-deprecated' };
    default:
      return { failure: true, lookup: true, versionDeprecated: false, label: code === null ? 'killed' : `exit-${code}` };
  }
}

/** Exponential, capped: 5 s, 10 s, 20 s … 5 min. A broken pool never hammers GitHub. */
export function backoffMs(failures: number, baseMs = 5_000, capMs = 300_000): number {
  if (failures <= 0) return 0;
  return Math.min(capMs, baseMs * 2 ** (failures - 1));
}

/**
 * 126/127 are the shell's and the engine's "could not execute" / "not found": the Listener never
 * ran, so a replacement would fail the same way. Said in the pool's status with what to check.
 */
export function startFailure(code: number | null, name: string): { error: FleetError; hint: string } | undefined {
  if (code === 126) {
    return {
      error: new FleetError('RUNNER_START_FAILED', `runner ${name} exited 126 right after start: its user cannot execute the runner`),
      hint: 'the user the runner runs as (docker.user, else the image USER; systemd.user) must traverse host.dataDir and read the runner cache; check their owner and mode',
    };
  }
  if (code === 127) {
    return {
      error: new FleetError('RUNNER_START_FAILED', `runner ${name} exited 127 right after start: a command it needs was not found`),
      hint: 'where the runner runs (the image, the host) lacks a program the runner needs, or docker.imageRunnerDir is wrong; run the image by hand to see what is missing',
    };
  }
  return undefined;
}

/**
 * Why a runner ended, for history, status and runner_fleet_runner_exits_total{cause}. The
 * runner's own exit code (runner-facts) stays in `detail`; the cause says who ended it.
 */
export type ExitCause = 'job_done' | 'exit_code' | 'oom' | 'signal' | 'engine_gone' | 'disk_full' | 'interrupted';

export interface ExitFacts {
  exitCode: number | null;
  signal?: string | null;
  /** The engine reported an OOM kill. */
  oomKilled?: boolean;
  /** Its container/unit/process vanished with no exit recorded. */
  vanished?: boolean;
  /** Left mid-create by a previous daemon. */
  interrupted?: boolean;
  /** The runner's last output says ENOSPC, or the data dir had no room left when it ended. */
  diskFull?: boolean;
}

/** Most specific first: an OOM or a full disk explains an exit code or a signal, not the reverse. */
export function exitCause(f: ExitFacts, meaning: Pick<ExitMeaning, 'label'>): ExitCause {
  if (f.oomKilled) return 'oom';
  if (f.interrupted) return 'interrupted';
  if (meaning.label === 'job-done') return 'job_done';
  if (f.diskFull) return 'disk_full';
  if (f.vanished) return 'engine_gone';
  if (f.exitCode === null) return 'signal';
  return 'exit_code';
}

/** Output lines that mean the disk was full (runner, .NET, Node, git, Docker). */
export const DISK_FULL_RE = /No space left on device|ENOSPC|There is not enough space on the disk/;
