import fs from 'node:fs';
import path from 'node:path';

export type JobState = { state: 'busy' | 'idle'; at: number; job: string; runId?: number };

/**
 * The job hook script (run by the runner as `bash -e <script>` before/after every job).
 * It writes `.rf/job` atomically (tmp + mv, same directory) so a reader never sees half a file.
 * Only bash builtins plus coreutils `date`/`mv`: it must run inside any runner image.
 */
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
`;
}

export function hookPaths(root: string): { started: string; completed: string; jobFile: string } {
  const rf = path.join(root, '.rf');
  return {
    started: path.join(rf, 'hooks', 'job-started.sh'),
    completed: path.join(rf, 'hooks', 'job-completed.sh'),
    jobFile: path.join(rf, 'job'),
  };
}

/** What the hooks last said; null when no job ever started (or the file is unreadable). */
export function readJobState(root: string): JobState | null {
  let raw: string;
  try {
    raw = fs.readFileSync(hookPaths(root).jobFile, 'utf8');
  } catch {
    return null;
  }
  try {
    const v = JSON.parse(raw) as Partial<JobState>;
    if ((v.state === 'busy' || v.state === 'idle') && typeof v.at === 'number') {
      const runId = typeof v.runId === 'number' && v.runId > 0 ? { runId: v.runId } : {};
      return { state: v.state, at: v.at, job: typeof v.job === 'string' ? v.job : '', ...runId };
    }
  } catch {
    // fall through: a torn write cannot happen (mv), but a hand-edited file can
  }
  return null;
}
