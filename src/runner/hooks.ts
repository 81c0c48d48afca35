import path from 'node:path';
import { FleetError } from '../errors.js';
import { readRootFile } from './root-file.js';

export type JobState = { state: 'busy' | 'idle'; at: number; job: string; runId?: number };

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

export function hookScript(state: JobState['state']): string {
  return `#!/usr/bin/env bash
# runner-fleet job hook: records "${state}" for the daemon (its local busy truth). Do not edit.
case "\${BASH_SOURCE[0]}" in */*) rf_dir="\${BASH_SOURCE[0]%/*}/..";; *) rf_dir="..";; esac
if [ -n "\${EPOCHREALTIME:-}" ]; then at="\${EPOCHREALTIME/[.,]/}"; at="\${at:0:13}"; else at="$(date +%s%3N)"; fi
case "$at" in *[!0-9]*|'') at="$(date +%s)000";; esac
job="\${GITHUB_JOB:-}"; job="\${job//\\\\/\\\\\\\\}"; job="\${job//\\"/\\\\\\"}"
run="\${GITHUB_RUN_ID:-0}"; case "$run" in *[!0-9]*|''|0*) run=0;; esac
tmp="$rf_dir/.job.$$.tmp"
printf '{"state":"%s","at":%s,"job":"%s","runId":%s}\\n' "${state}" "$at" "$job" "$run" > "$tmp"
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
export async function readJobState(root: string): Promise<JobState | null> {
  const raw = await readRootFile(root, path.join('.rf', 'job'));
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
    return { state: v.state, at: v.at, job: typeof v.job === 'string' ? v.job : '', ...runId };
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
