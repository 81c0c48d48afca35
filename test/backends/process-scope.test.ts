import test from 'ava';
import { existsSync } from 'node:fs';
import { processModule } from '../../src/backends/process/module.js';
import { detectScopes, scopePrefix, scopeProperties, scopeUnit } from '../../src/backends/process/scope.js';

test('pools[].limits become scope properties; the prefix names the runner scope and ends with --', (t) => {
  t.deepEqual(scopeProperties(undefined), []);
  t.deepEqual(scopeProperties({ memory: 512 * 1024 * 1024, cpus: 1.5, pids: 300 }), ['MemoryMax=536870912', 'MemorySwapMax=0', 'CPUQuota=150%', 'TasksMax=300']);
  t.deepEqual(scopePrefix('/usr/bin/systemd-run', 'h1-cd-abc123', ['TasksMax=5']), [
    '/usr/bin/systemd-run', '--scope', '--quiet', '--collect', '--unit=rf-process-h1-cd-abc123.scope', '-p', 'TasksMax=5', '--',
  ]);
  t.is(scopeUnit('h1-cd-abc123'), 'rf-process-h1-cd-abc123.scope');
});

test('scopes need root and systemd as PID 1; without them the reason is given (doctor prints it)', (t) => {
  const s = detectScopes();
  if (process.getuid?.() !== 0) t.is(s.reason, 'the daemon is not root');
  else if (!existsSync('/run/systemd/system')) t.is(s.reason, 'systemd is not PID 1 here');
  else t.truthy(s.systemdRun ?? s.reason);
});

test('a process pool with process.user needs the process-user drop-in (typed or raw YAML pool)', (t) => {
  t.is(processModule.daemonDropIn({ name: 'a', process: { user: 'ci' } }), 'process-user');
  t.is(processModule.daemonDropIn({ name: 'a' }), undefined);
  t.is(processModule.daemonDropIn({ name: 'a', process: { user: '' } }), undefined);
});
