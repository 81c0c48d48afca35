import test from 'ava';
import { DISK_FULL_RE, classifyExit, exitCause, type ExitCause, type ExitFacts } from '../../src/reconcile/exits.js';

const table: [string, ExitFacts, { ephemeral: boolean; ranJob: boolean }, ExitCause][] = [
  ['ephemeral runner exits 0 after its job', { exitCode: 0 }, { ephemeral: true, ranJob: true }, 'job_done'],
  ['exit 0 without a job (registration deleted)', { exitCode: 0 }, { ephemeral: true, ranJob: false }, 'exit_code'],
  ['runner exit code 2 (retryable)', { exitCode: 2 }, { ephemeral: false, ranJob: false }, 'exit_code'],
  ['exit 7 (version deprecated)', { exitCode: 7 }, { ephemeral: true, ranJob: false }, 'exit_code'],
  ['killed by SIGTERM', { exitCode: null, signal: 'SIGTERM' }, { ephemeral: true, ranJob: true }, 'signal'],
  ['killed with no signal known', { exitCode: null }, { ephemeral: true, ranJob: false }, 'signal'],
  ['Docker State.OOMKilled with exit 137 as SIGKILL', { exitCode: null, signal: 'SIGKILL', oomKilled: true }, { ephemeral: true, ranJob: true }, 'oom'],
  ['OOM wins over a job that had finished', { exitCode: 0, oomKilled: true }, { ephemeral: true, ranJob: true }, 'oom'],
  ['container/unit/process vanished', { exitCode: null, vanished: true }, { ephemeral: true, ranJob: false }, 'engine_gone'],
  ['ENOSPC in the output and a failing exit', { exitCode: 1, diskFull: true }, { ephemeral: true, ranJob: true }, 'disk_full'],
  ['ENOSPC in a finished job output is still job_done', { exitCode: 0, diskFull: true }, { ephemeral: true, ranJob: true }, 'job_done'],
  ['left mid-create by a previous daemon', { exitCode: null, interrupted: true }, { ephemeral: true, ranJob: false }, 'interrupted'],
];

for (const [title, facts, row, want] of table) {
  test(`exit cause: ${title} → ${want}`, (t) => {
    t.is(exitCause(facts, classifyExit(facts.exitCode, row.ephemeral, row.ranJob)), want);
  });
}

test('disk-full output is recognised from the runner, .NET, Node and git', (t) => {
  for (const line of [
    'System.IO.IOException: No space left on device : /runner/_diag/Runner_1.log',
    "Error: ENOSPC: no space left on device, write",
    'fatal: write error: No space left on device',
    'There is not enough space on the disk.',
  ]) t.true(DISK_FULL_RE.test(line), line);
  t.false(DISK_FULL_RE.test('Job job-1 completed with result: Succeeded'));
});
