import path from 'node:path';
import { FleetError } from '../errors.js';
import { readRootFile } from './root-file.js';
import type { RootFileCache } from './root-file-cache.js';

export type JobState = {
  state: 'busy' | 'idle';
  at: number;
  job: string;
  runId?: number;
  /** Completed hook: OOM kills in the runner's memory cgroup during the job (0: none, absent: unknown). */
  oomKills?: number;
};

/**
 * The job hook script (run by the runner as `bash -e <script>` before/after every job).
 * It writes `.rf/job` atomically (tmp + mv, same directory) so a reader never sees half a file.
 * Only bash builtins plus coreutils `date`/`mv`: it must run inside any runner image.
 */
/**
 * Job processes go first under memory pressure: the hook's parent is the Runner.Worker, and the
 * steps it forks from now on inherit its raised oom_score_adj, while the Listener keeps its own.
 * Raising a score needs no privilege; where /proc is not writable it is simply skipped.
 */
const OOM_FIRST = `echo 500 2>/dev/null > "/proc/$PPID/oom_score_adj" || true
`;

/**
 * OOM kills so far in the hook's own memory cgroup (the container, the unit, the process pool's
 * group): v2 memory.events, v1 memory.oom_control, each at the path /proc/self/cgroup names or
 * else at the mount's root (a container sees its own cgroup there). The count goes up in the
 * kernel as the job's process is killed, before the step ends, so the completed hook sees it
 * whatever order the engine's events arrive in. Unreadable: left empty.
 */
const OOM_COUNT = `rf_oom() {
  local line p f k v
  while IFS= read -r line; do
    case "$line" in
      0::*) p="\${line#0::}"; set -- "/sys/fs/cgroup\${p%/}/memory.events" /sys/fs/cgroup/memory.events ;;
      *:memory:*) p="\${line#*:memory:}"; set -- "/sys/fs/cgroup/memory\${p%/}/memory.oom_control" /sys/fs/cgroup/memory/memory.oom_control ;;
      *) continue ;;
    esac
    for f; do
      if [ -f "$f" ]; then
        while read -r k v; do if [ "$k" = oom_kill ]; then oom="$v"; return 0; fi; done < "$f"
      fi
    done
  done < /proc/self/cgroup
}
oom=""; rf_oom 2>/dev/null || true
case "$oom" in *[!0-9]*) oom="";; esac
`;

/** The completed hook: kills since the started hook's count, kept in the job file it wrote (a regular file only). */
const OOM_DURING_JOB = `base=""
if [ -f "$rf_dir/job" ] && [ ! -L "$rf_dir/job" ]; then
  prev=""; IFS= read -r -n 4096 prev < "$rf_dir/job" 2>/dev/null || true
  if [[ "$prev" =~ \\"oom\\":([0-9]+) ]]; then base="\${BASH_REMATCH[1]}"; fi
fi
extra=""; if [ -n "$oom" ]; then extra=",\\"oom\\":$oom"; if [ -n "$base" ]; then extra="$extra,\\"oomKills\\":$(( oom - base ))"; fi; fi
`;

export function hookScript(state: JobState['state']): string {
  return `#!/usr/bin/env bash
# runner-fleet job hook: records "${state}" for the daemon (its local busy truth). Do not edit.
case "\${BASH_SOURCE[0]}" in */*) rf_dir="\${BASH_SOURCE[0]%/*}/..";; *) rf_dir="..";; esac
if [ -n "\${EPOCHREALTIME:-}" ]; then at="\${EPOCHREALTIME/[.,]/}"; at="\${at:0:13}"; else at="$(date +%s%3N)"; fi
case "$at" in *[!0-9]*|'') at="$(date +%s)000";; esac
job="\${GITHUB_JOB:-}"; job="\${job//\\\\/\\\\\\\\}"; job="\${job//\\"/\\\\\\"}"
run="\${GITHUB_RUN_ID:-0}"; case "$run" in *[!0-9]*|''|0*) run=0;; esac
${OOM_COUNT}${state === 'idle' ? OOM_DURING_JOB : 'extra=""; if [ -n "$oom" ]; then extra=",\\"oom\\":$oom"; fi\n'}tmp="$rf_dir/.job.$$.tmp"
printf '{"state":"%s","at":%s,"job":"%s","runId":%s%s}\\n' "${state}" "$at" "$job" "$run" "$extra" > "$tmp"
mv -f "$tmp" "$rf_dir/job"
${state === 'busy' ? OOM_FIRST : ''}`;
}

export function hookPaths(root: string): { started: string; completed: string; jobFile: string } {
  const rf = path.join(root, '.rf');
  return {
    started: path.join(rf, 'hooks', 'job-started.sh'),
    completed: path.join(rf, 'hooks', 'job-completed.sh'),
    jobFile: path.join(rf, 'job'),
  };
}

/**
 * What the hooks last said; null when no job ever started. The file is the job's to write
 * (CONTRACT §6): read without blocking or following links, and anything but the small JSON the
 * hooks write (a FIFO, a link, a huge file, garbage) is FleetError RUNNER_FILE_REFUSED.
 */
export async function readJobState(root: string, cache?: RootFileCache): Promise<JobState | null> {
  const rel = path.join('.rf', 'job');
  const raw = cache ? await cache.read(root, rel) : await readRootFile(root, rel);
  if (raw === undefined) return null;
  let v: Partial<JobState>;
  try {
    v = JSON.parse(raw) as Partial<JobState>;
  } catch {
    // A torn write cannot happen (mv): only a hand, or a job, made it so.
    throw new FleetError('RUNNER_FILE_REFUSED', `${hookPaths(root).jobFile} is not the JSON the job hooks write`);
  }
  if ((v?.state === 'busy' || v?.state === 'idle') && typeof v.at === 'number') {
    const runId = typeof v.runId === 'number' && v.runId > 0 ? { runId: v.runId } : {};
    // Job-writable like the rest: it can only say its own runner was OOM-killed, which a job can do for real.
    const oom = v.state === 'idle' && typeof v.oomKills === 'number' && Number.isSafeInteger(v.oomKills) && v.oomKills >= 0 ? { oomKills: v.oomKills } : {};
    return { state: v.state, at: v.at, job: typeof v.job === 'string' ? v.job : '', ...runId, ...oom };
  }
  throw new FleetError('RUNNER_FILE_REFUSED', `${hookPaths(root).jobFile} is not the JSON the job hooks write`);
}

/**
 * The registration id the runner wrote into `.runner` (config.sh; UTF-8 JSON with a BOM).
 * Job-writable like every file in the root: a hint for which registration to look at, never
 * proof of which one is ours (the caller checks the name with GitHub before deleting).
 */
export async function readRegistrationId(root: string): Promise<number | undefined> {
  let raw: string | undefined;
  try {
    raw = await readRootFile(root, '.runner');
  } catch {
    return undefined; // vandalised: the registration is found by name instead
  }
  try {
    const id = (JSON.parse(raw?.replace(/^\uFEFF/, '') ?? 'null') as { agentId?: unknown } | null)?.agentId;
    return typeof id === 'number' && Number.isInteger(id) && id > 0 ? id : undefined;
  } catch {
    return undefined;
  }
}
