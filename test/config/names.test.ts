import test from 'ava';
import {
  defaultLabels,
  expandToolTemplate,
  hostArch,
  newRunnerName,
  runnerLabels,
  runnerNamePattern,
  sanitizeHostName,
  scopeKey,
  scopeUrl,
  toolDir,
} from '../../src/config/names.js';
import { parseDuration, formatDuration } from '../../src/config/duration.js';
import { resolveConfigPath } from '../../src/config/load.js';

test('labels: defaults first, pool labels deduplicated case-insensitively', (t) => {
  t.deepEqual(defaultLabels('x64'), ['self-hosted', 'linux', 'x64']);
  t.deepEqual(runnerLabels({ labels: ['cd', 'Linux', 'CD', 'docker'] }, 'arm64'), ['self-hosted', 'linux', 'arm64', 'cd', 'docker']);
});

test('hostArch maps node arch names', (t) => {
  t.is(hostArch('x64'), 'x64');
  t.is(hostArch('arm64'), 'arm64');
  t.is(hostArch('arm'), 'arm');
  t.throws(() => hostArch('ia32'));
});

test('runner names are owned by exactly one pool', (t) => {
  const cd = runnerNamePattern('build-01', 'cd');
  const big = runnerNamePattern('build-01', 'cd-big');
  const name = newRunnerName('build-01', 'cd');
  t.regex(name, /^build-01-cd-[a-z0-9]{8}$/);
  t.true(cd.test(name));
  t.false(big.test(name));
  t.false(cd.test(newRunnerName('build-01', 'cd-big')));
  t.true(big.test(newRunnerName('build-01', 'cd-big')));
  t.false(cd.test('build-01-cd-abc'), 'suffix shorter than 6');
  t.false(cd.test('xbuild-01-cd-abcdef'));
  t.false(cd.test('build-01-cd-ABCDEF'));
  t.false(runnerNamePattern('build-01', 'cd').test('build-01-cd-abcdef-x'));
  t.not(newRunnerName('h', 'p'), newRunnerName('h', 'p'));
});

test('scope keys and config.sh urls', (t) => {
  t.is(scopeKey({ kind: 'org', org: 'acme' }), 'org:acme');
  t.is(scopeKey({ kind: 'repo', owner: 'acme', repo: 'app' }), 'repo:acme/app');
  t.is(scopeKey({ kind: 'enterprise', enterprise: 'big' }), 'enterprise:big');
  t.is(scopeUrl('https://github.com/', { kind: 'org', org: 'acme' }), 'https://github.com/acme');
  t.is(scopeUrl('https://github.com', { kind: 'repo', owner: 'acme', repo: 'app' }), 'https://github.com/acme/app');
  t.is(scopeUrl('https://ghe.corp', { kind: 'enterprise', enterprise: 'big' }), 'https://ghe.corp/enterprises/big');
});

test('host names are sanitized', (t) => {
  t.is(sanitizeHostName('Build_01.example.com'), 'build-01');
  t.is(sanitizeHostName('--weird--name--'), 'weird-name');
  t.is(sanitizeHostName('...'), 'host');
});

test('tool url and dir templates', (t) => {
  const tool = { name: 'argocd', version: 'v2.13.3', url: '', archMap: { arm64: 'aarch64' } };
  t.is(expandToolTemplate('https://x/{version}/argocd-{os}-{arch}', tool, 'x64'), 'https://x/v2.13.3/argocd-linux-amd64');
  t.is(expandToolTemplate('{arch}', tool, 'arm64'), 'aarch64');
  t.is(toolDir('/var/lib/runner-fleet/', tool, 'x64'), '/var/lib/runner-fleet/tools/argocd/v2.13.3/x64');
});

test('durations', (t) => {
  t.is(parseDuration('500ms'), 500);
  t.is(parseDuration('10s'), 10_000);
  t.is(parseDuration('5m'), 300_000);
  t.is(parseDuration('1h30m'), 5_400_000);
  t.is(parseDuration('1.5h'), 5_400_000);
  t.is(parseDuration('0'), 0);
  t.is(parseDuration('10'), undefined);
  t.is(parseDuration('10 s'), undefined);
  t.is(parseDuration('s'), undefined);
  t.is(formatDuration(5_400_000), '1h30m');
  t.is(formatDuration(600_000), '10m');
});

test('config path: flag, else $RUNNER_FLEET_CONFIG, else /etc', (t) => {
  t.is(resolveConfigPath('/a.yaml', { RUNNER_FLEET_CONFIG: '/b.yaml' }), '/a.yaml');
  t.is(resolveConfigPath(undefined, { RUNNER_FLEET_CONFIG: '/b.yaml' }), '/b.yaml');
  t.is(resolveConfigPath(undefined, {}), '/etc/runner-fleet/config.yaml');
});
