import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { hookPaths, hookScript, readJobState } from '../../src/runner/hooks.js';
import { requireDocker, TEST_IMAGE } from '../helpers/engines.js';
import { tempDir } from '../helpers/temp.js';

const run = promisify(execFile);

async function hookRoot(t: Parameters<typeof tempDir>[0]): Promise<string> {
  const root = await tempDir(t, 'rf-hook-oom-');
  const p = hookPaths(root);
  await fs.mkdir(path.dirname(p.started), { recursive: true });
  await fs.writeFile(p.started, hookScript('busy'), { mode: 0o755 });
  await fs.writeFile(p.completed, hookScript('idle'), { mode: 0o755 });
  return root;
}

/**
 * The exit of a runner whose job was OOM-killed was classified job_done when the engine's `oom`
 * event came after its `die` (or never: an OOM right after start has none). The job hooks read
 * the cgroup's own OOM-kill count, so the exit is known to be an OOM before the runner exits.
 * No events, no timing: the kernel counts the kill before the step ends.
 */
test('job hooks in a memory-limited container: a job step past the limit → oomKills 1 in the completed state; none → 0', async (t) => {
  if (!(await requireDocker(t))) return;
  for (const [job, want] of [['head -c 400000000 /dev/zero | tail > /dev/null || true', 1], ['true', 0]] as const) {
    const root = await hookRoot(t);
    const script = `bash -e /r/.rf/hooks/job-started.sh && { ${job}; } && bash -e /r/.rf/hooks/job-completed.sh`;
    await run('docker', ['run', '--rm', '--init', '--memory', '64m', '--memory-swap', '64m', '-v', `${root}:/r`, TEST_IMAGE, 'bash', '-c', script]);
    const s = await readJobState(root);
    t.is(s?.state, 'idle', job);
    t.is(s?.oomKills, want, job);
  }
});

test('job hooks where no memory cgroup file is readable: no oomKills (unknown), never a broken state file', async (t) => {
  const root = await hookRoot(t);
  // A private mount namespace with an empty /sys/fs/cgroup stands in for a host without one.
  const script = `mount -t tmpfs none /sys/fs/cgroup && bash -e ${root}/.rf/hooks/job-started.sh && bash -e ${root}/.rf/hooks/job-completed.sh`;
  if (process.getuid?.() !== 0) {
    t.fail('unshare -m needs root (CI runs as root)');
    return;
  }
  await run('unshare', ['-m', '--propagation', 'private', 'bash', '-c', script]);
  const s = await readJobState(root);
  t.is(s?.state, 'idle');
  t.is(s?.oomKills, undefined);
});

test('a persistent runner: the job after an OOM-killed one reports 0 (the count at job start is the base)', async (t) => {
  if (!(await requireDocker(t))) return;
  const root = await hookRoot(t);
  const hooks = 'bash -e /r/.rf/hooks/job-started.sh && { JOB; } && bash -e /r/.rf/hooks/job-completed.sh';
  const script = `${hooks.replace('JOB', 'head -c 400000000 /dev/zero | tail > /dev/null || true')} && cp /r/.rf/job /r/first.json && ${hooks.replace('JOB', 'true')}`;
  await run('docker', ['run', '--rm', '--init', '--memory', '64m', '--memory-swap', '64m', '-v', `${root}:/r`, TEST_IMAGE, 'bash', '-c', script]);
  t.is((JSON.parse(await fs.readFile(path.join(root, 'first.json'), 'utf8')) as { oomKills?: number }).oomKills, 1);
  const second = await readJobState(root);
  t.is(second?.state, 'idle');
  t.is(second?.oomKills, 0);
});
