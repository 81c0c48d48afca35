import test from 'ava';
import { formatIssues } from '../../src/config/index.js';
import { check, FILE, issueAt, issuesOf, MINIMAL } from './helpers.js';

/** Each broken config yields an issue at `path`, on `line` (1-based) of the file. */
const cases: Array<{ title: string; text: string; path: string; line: number; col?: number }> = [
  { title: 'unknown key', text: MINIMAL + 'colour: blue\n', path: 'colour', line: 8, col: 1 },
  { title: 'unknown nested key', text: MINIMAL + '    lables: [x]\n', path: 'pools[0].lables', line: 8, col: 5 },
  { title: 'wrong type', text: MINIMAL.replace('size: 1', 'size: two'), path: 'pools[0].size', line: 7, col: 11 },
  { title: 'wrong type (list)', text: MINIMAL + '    labels: cd\n', path: 'pools[0].labels', line: 8 },
  { title: 'duplicate pool', text: MINIMAL + '  - name: cd\n    scope: { org: acme }\n    size: 1\n', path: 'pools[1].name', line: 8, col: 11 },
  { title: 'bad pool name', text: MINIMAL.replace('name: cd', 'name: CD_1'), path: 'pools[0].name', line: 5 },
  { title: 'missing scope', text: MINIMAL.replace('    scope: { org: acme }\n', ''), path: 'pools[0].scope', line: 5 },
  { title: 'two scopes', text: MINIMAL.replace('{ org: acme }', '{ org: acme, enterprise: big }'), path: 'pools[0].scope.enterprise', line: 6 },
  { title: 'bad repo scope', text: MINIMAL.replace('{ org: acme }', '{ repo: acme }'), path: 'pools[0].scope.repo', line: 6 },
  { title: 'size and scale', text: MINIMAL + '    scale: { max: 3 }\n', path: 'pools[0].scale', line: 8 },
  { title: 'neither size nor scale', text: MINIMAL.replace('    size: 1\n', ''), path: 'pools[0]', line: 5 },
  { title: 'minIdle above max', text: MINIMAL.replace('size: 1', 'scale: { minIdle: 4, max: 2 }'), path: 'pools[0].scale.minIdle', line: 7 },
  { title: 'scale max 0', text: MINIMAL.replace('size: 1', 'scale: { max: 0 }'), path: 'pools[0].scale.max', line: 7 },
  { title: 'scale-set pool not ephemeral', text: MINIMAL.replace('size: 1', 'scale: { max: 3, via: scaleset }') + '    ephemeral: false\n', path: 'pools[0].ephemeral', line: 8 },
  { title: 'unknown scale.via', text: MINIMAL.replace('size: 1', 'scale: { max: 3, via: polling }'), path: 'pools[0].scale.via', line: 7 },
  { title: 'bad cron', text: MINIMAL + 'runner: { updateSchedule: "every night" }\n', path: 'runner.updateSchedule', line: 8 },
  { title: 'bad cron (too few fields)', text: MINIMAL + 'tokens: { refreshSchedule: "* * *" }\n', path: 'tokens.refreshSchedule', line: 8 },
  { title: 'bad sha256', text: MINIMAL + 'runner: { version: 2.330.0, url: "https://m/{version}.tgz", sha256: abc }\n', path: 'runner.sha256', line: 8 },
  { title: 'bad duration', text: MINIMAL + 'reconcile: { interval: 10 seconds }\n', path: 'reconcile.interval', line: 8 },
  { title: 'duration without unit', text: MINIMAL + 'reconcile: { interval: 10 }\n', path: 'reconcile.interval', line: 8 },
  { title: 'url without sha256', text: MINIMAL + 'runner:\n  version: 2.330.0\n  url: https://mirror/{version}.tgz\n', path: 'runner.url', line: 10, col: 3 },
  { title: 'sha256 with latest', text: MINIMAL + `runner: { sha256: ${'a'.repeat(64)} }\n`, path: 'runner.sha256', line: 8 },
  { title: 'dns on a process pool', text: MINIMAL + '    network: { dns: [10.0.0.2] }\n', path: 'pools[0].network.dns', line: 8 },
  { title: 'inherited extraHosts on a process pool', text: MINIMAL + 'network: { extraHosts: { a.internal: 10.0.0.1 } }\n', path: 'network.extraHosts', line: 8 },
  { title: 'dns with docker network container:', text: MINIMAL + '    backend: docker\n    docker: { image: x, network: "container:y" }\n    network: { dns: [10.0.0.2] }\n', path: 'pools[0].network.dns', line: 10 },
  { title: 'docker pool without image', text: MINIMAL + '    backend: docker\n', path: 'pools[0].backend', line: 8 },
  { title: 'docker section without image', text: MINIMAL + '    backend: docker\n    docker: { cpus: 2 }\n', path: 'pools[0].docker.image', line: 9 },
  { title: 'systemd pool without user', text: MINIMAL + '    backend: systemd\n', path: 'pools[0].backend', line: 8 },
  { title: 'unknown backend', text: MINIMAL + '    backend: kubernetes\n', path: 'pools[0].backend', line: 8 },
  { title: 'label with comma', text: MINIMAL + '    labels: ["a,b"]\n', path: 'pools[0].labels[0]', line: 8 },
  { title: 'empty label', text: MINIMAL + '    labels: [ok, ""]\n', path: 'pools[0].labels[1]', line: 8 },
  { title: 'label too long', text: MINIMAL + `    labels: [${'x'.repeat(257)}]\n`, path: 'pools[0].labels[0]', line: 8 },
  { title: 'bad host name', text: MINIMAL + 'host: { name: Build.01 }\n', path: 'host.name', line: 8 },
  { title: 'bad host.capacity size', text: MINIMAL + 'host: { capacity: { minFreeDisk: lots } }\n', path: 'host.capacity.minFreeDisk', line: 8 },
  { title: 'host.capacity.cpus not a number', text: MINIMAL + 'host: { capacity: { cpus: many } }\n', path: 'host.capacity.cpus', line: 8 },
  { title: 'host.capacity.cpus 0', text: MINIMAL + 'host: { capacity: { cpus: 0 } }\n', path: 'host.capacity.cpus', line: 8 },
  { title: 'one runner needs more CPUs than the budget', text: MINIMAL + '    backend: systemd\n    systemd: { user: runner }\n    limits: { cpus: 4 }\nhost: { capacity: { cpus: 2 } }\n', path: 'pools[0].limits.cpus', line: 10 },
  { title: 'docker.cpus above the CPU budget', text: MINIMAL + '    backend: docker\n    docker: { image: x, cpus: 2.5 }\nhost: { capacity: { cpus: 2 } }\n', path: 'pools[0].docker.cpus', line: 9 },
  { title: 'limits.cpus above cpus: auto (the host CPU count)', text: MINIMAL + '    backend: systemd\n    systemd: { user: runner }\n    limits: { cpus: 100000 }\nhost: { capacity: { cpus: auto } }\n', path: 'pools[0].limits.cpus', line: 10 },
  { title: 'limits.memory not a size', text: MINIMAL + '    backend: systemd\n    systemd: { user: runner }\n    limits: { memory: lots }\n', path: 'pools[0].limits.memory', line: 10 },
  { title: 'runner names too long', text: MINIMAL + `host: { name: ${'h'.repeat(60)} }\n`, path: 'pools[0].name', line: 5 },
  { title: 'no credentials', text: MINIMAL.replace('    token: t0ken\n', ''), path: 'github.auth', line: 2 },
  { title: 'token and tokenFile', text: MINIMAL.replace('token: t0ken', 'token: t0ken\n    tokenFile: /x'), path: 'github.auth.tokenFile', line: 4 },
  { title: 'empty token', text: MINIMAL.replace('token: t0ken', 'token: ""'), path: 'github.auth.token', line: 3 },
  { title: 'app without installationId', text: MINIMAL.replace('token: t0ken', 'app: { appId: 1, privateKey: k }'), path: 'github.auth.app.installationId', line: 3 },
  { title: 'app without key', text: MINIMAL.replace('token: t0ken', 'app: { appId: 1, installationId: 2 }'), path: 'github.auth.app', line: 3 },
  { title: 'webhookSecret and file', text: MINIMAL + 'api: { webhookSecret: s, webhookSecretFile: /f }\n', path: 'api.webhookSecretFile', line: 8 },
  { title: 'bad listen', text: MINIMAL + 'api: { listen: localhost }\n', path: 'api.listen', line: 8 },
  { title: 'tool without checksum', text: MINIMAL + 'tools:\n  - { name: yq, version: v4, url: "https://x/{version}/yq_{arch}" }\n', path: 'tools[0]', line: 9 },
  { title: 'tool with both checksums', text: MINIMAL + `tools:\n  - { name: yq, version: v4, url: "https://x/yq", sha256: ${'b'.repeat(64)}, checksumUrl: "https://x/sums" }\n`, path: 'tools[0].checksumUrl', line: 9 },
  { title: 'tool url placeholder', text: MINIMAL + `tools:\n  - { name: yq, version: v4, url: "https://x/{plat}", sha256: ${'b'.repeat(64)} }\n`, path: 'tools[0].url', line: 9 },
  { title: 'no pools', text: 'github: { auth: { token: t } }\npools: []\n', path: 'pools', line: 2 },
  { title: 'bad IP in dns', text: MINIMAL + '    backend: docker\n    docker: { image: x }\n    network: { dns: [not-an-ip] }\n', path: 'pools[0].network.dns[0]', line: 10 },
  { title: 'bad env name', text: MINIMAL + '    env: { "A B": x }\n', path: 'pools[0].env["A B"]', line: 8, col: 12 },
];

for (const c of cases) {
  test(`located issue: ${c.title}`, (t) => {
    const issues = issuesOf(c.text);
    const hit = issueAt(issues, c.path);
    t.truthy(hit, `no issue at ${c.path}; got:\n${formatIssues(issues)}`);
    t.is(hit?.file, FILE);
    t.is(hit?.line, c.line, formatIssues(issues));
    if (c.col !== undefined) t.is(hit?.col, c.col, formatIssues(issues));
  });
}

test('a file with many problems reports all of them at once', (t) => {
  const text = `host:
  name: Bad_Host
  colour: blue
github:
  auth:
    token: \${NOPE}
runner:
  updateSchedule: "every day"
reconcile: { interval: forever }
pools:
  - name: cd
    scope: { org: a, repo: a/b }
    size: 2
    scale: { max: 2 }
    network: { dns: [10.0.0.2] }
  - name: cd
    size: x
`;
  const issues = issuesOf(text);
  const paths = issues.map((i) => i.path);
  for (const p of [
    'host.name',
    'host.colour',
    'github.auth.token',
    'runner.updateSchedule',
    'reconcile.interval',
    'pools[0].scope.repo',
    'pools[0].scale',
    'pools[0].network.dns',
    'pools[1].name',
    'pools[1].scope',
    'pools[1].size',
  ]) {
    t.true(paths.includes(p), `missing ${p} in:\n${formatIssues(issues)}`);
  }
  // Printed in file order, one per line, FILE:LINE:COL: path: message.
  const lines = formatIssues(issues).split('\n');
  t.is(lines.length, issues.length);
  t.true(lines.every((l) => /^\/etc\/runner-fleet\/config\.yaml:\d+:\d+: \S+: .+/.test(l)));
  const order = issues.map((i) => i.line);
  t.deepEqual([...order].sort((a, b) => a - b), formatIssues(issues).split('\n').map((l) => Number(l.split(':')[1])));
});

test('YAML syntax errors are located', (t) => {
  const issues = issuesOf('pools:\n  - name: cd\n   bad: [\n');
  t.true(issues.length >= 1);
  t.true(issues.every((i) => i.line >= 1 && i.col >= 1));
});

test('duplicate YAML keys are reported', (t) => {
  const issues = issuesOf(MINIMAL + 'github: {}\n');
  t.true(issues.some((i) => i.line === 8));
});

test('an empty file is one issue', (t) => {
  const issues = issuesOf('# nothing\n');
  t.is(issues.length, 1);
});

test('a CPU budget the pools fit is valid; a pool without a CPU limit is a warning (not counted), not an error', (t) => {
  const text = MINIMAL + '    backend: systemd\n    systemd: { user: runner }\n    limits: { cpus: 2 }\n  - name: ci\n    scope: { org: acme }\n    size: 1\n    backend: systemd\n    systemd: { user: runner }\nhost: { capacity: { cpus: 2 } }\n';
  const r = check(text);
  t.deepEqual(r.issues, []);
  t.truthy(r.warnings?.find((w) => w.path === 'pools[1]'), JSON.stringify(r.warnings));
  t.is(r.warnings?.find((w) => w.path === 'pools[0]'), undefined);
});
