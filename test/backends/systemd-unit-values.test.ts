/**
 * The unit writer's own defence, behind config validation: a value with a line break never adds
 * a unit line, and proxy credentials stay out of the world-readable unit file.
 */
import test from 'ava';
import { envFileFor, renderUnit } from '../../src/backends/systemd/unit.js';
import type { RunnerSpec } from '../../src/backends/types.js';
import { isFleetError } from '../../src/errors.js';

function spec(over: Partial<RunnerSpec> = {}): RunnerSpec {
  return {
    name: 'build-01-cd-abc123', pool: 'cd', host: 'build-01', root: '/var/lib/rf/runners/build-01-cd-abc123',
    command: ['/var/lib/rf/runners/build-01-cd-abc123/bin/Runner.Listener', 'run'],
    env: { FOO: 'foo' }, secretEnv: { ACTIONS_RUNNER_INPUT_JITCONFIG: 'c2VjcmV0' }, mounts: [],
    ephemeral: true, network: { dns: [], extraHosts: {} }, systemd: { user: 'runner' }, ...over,
  };
}
const render = (s: RunnerSpec) => renderUnit(s, { envFile: '/run/runner-fleet/x.env' }, { stopTimeoutSec: 5 });
const INJECTED = /^(ExecStartPre|User=root|Group=root)/m;

for (const [what, over] of [
  ['systemd.user', { systemd: { user: 'runner\nExecStartPre=/bin/sh -c id' } }],
  ['systemd.user (carriage return)', { systemd: { user: 'runner\rExecStartPre=/bin/sh -c id' } }],
  ['systemd.group', { systemd: { user: 'runner', group: 'docker\nUser=root' } }],
  ['systemd.user with a space', { systemd: { user: 'run ner' } }],
] as const) {
  test(`unit writer refuses a ${what} that is not a plain name`, (t) => {
    const err = t.throws(() => render(spec(over as Partial<RunnerSpec>)));
    t.true(isFleetError(err, 'BACKEND_FAILED'), String(err));
  });
}

test('environment values with line breaks stay inside their Environment= line', (t) => {
  const text = render(spec({ env: { A: 'x\nExecStartPre=/bin/sh -c id', B: 'y\rUser=root', C: 'z\u0000w', D: 'tab\there' } }));
  t.notRegex(text, INJECTED);
  const envLines = text.split('\n').filter((l) => l.startsWith('Environment='));
  t.is(envLines.length, 4);
  t.false(/[\r\u0000]/.test(text), 'no raw control character in the unit file');
});

test('proxy credentials go to the 0600 env file, never into the unit file', (t) => {
  const proxy = 'http://deploy:Pr0xyS3cret@proxy.internal:3128';
  const s = spec({ env: { HTTPS_PROXY: proxy, https_proxy: proxy, HTTP_PROXY: 'http://proxy.internal:3128', NO_PROXY: '.internal' } });
  const text = render(s);
  t.false(text.includes('Pr0xyS3cret'), 'credentials in a world-readable unit line');
  t.regex(text, /^Environment="HTTP_PROXY=http:\/\/proxy.internal:3128"$/m, 'a proxy without credentials stays in the unit');
  const envFile = envFileFor(s);
  t.true(envFile.includes(`HTTPS_PROXY="${proxy}"`));
  t.true(envFile.includes(`https_proxy="${proxy}"`));
  t.true(envFile.includes('ACTIONS_RUNNER_INPUT_JITCONFIG="c2VjcmV0"'));
});
