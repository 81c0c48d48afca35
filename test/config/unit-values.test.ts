import test from 'ava';
import { formatIssues } from '../../src/config/index.js';
import { FILE, issueAt, issuesOf, MINIMAL } from './helpers.js';

/**
 * Values that end up in a systemd unit file (User=, Group=, Environment=, paths) must not carry a
 * line break: one would add unit lines of the config author's choosing (ExecStartPre= as root).
 * YAML double-quoted strings make "\n" and "\r" easy to write.
 */
const systemd = (section: string) => MINIMAL + `    backend: systemd\n    systemd: ${section}\n`;
const INJECT = String.raw`\nExecStartPre=/bin/sh -c 'id > /tmp/pwned'`;

const cases: Array<{ title: string; text: string; path: string; line: number; col?: number }> = [
  { title: 'systemd.user with a newline', text: systemd(`{ user: "runner${INJECT}" }`), path: 'pools[0].systemd.user', line: 9 },
  { title: 'systemd.user with a carriage return', text: systemd(String.raw`{ user: "runner\rUser=root" }`), path: 'pools[0].systemd.user', line: 9 },
  { title: 'systemd.user with a space', text: systemd('{ user: "run ner" }'), path: 'pools[0].systemd.user', line: 9 },
  { title: 'systemd.group with a newline', text: systemd(`{ user: runner, group: "docker${INJECT}" }`), path: 'pools[0].systemd.group', line: 9 },
  { title: 'pool env value with a newline', text: MINIMAL + `    env: { DEPLOY: "staging${INJECT}" }\n`, path: 'pools[0].env.DEPLOY', line: 8 },
  { title: 'proxy with a carriage return', text: MINIMAL + String.raw`network: { proxy: { https: "http://proxy:3128\rUser=root" } }` + '\n', path: 'network.proxy.https', line: 8 },
  { title: 'noProxy with a newline', text: MINIMAL + `network: { proxy: { noProxy: "a${INJECT}" } }\n`, path: 'network.proxy.noProxy', line: 8 },
  { title: 'pool caFile with a newline', text: MINIMAL + `    network: { caFile: "/etc/ca.pem${INJECT}" }\n`, path: 'pools[0].network.caFile', line: 8 },
  { title: 'tool version with a newline', text: MINIMAL + `tools:\n  - { name: yq, version: "v4${INJECT}", url: "https://x/yq", sha256: ${'b'.repeat(64)} }\n`, path: 'tools[0].version', line: 9 },
  { title: 'dataDir is a system directory', text: MINIMAL + 'host: { dataDir: /etc }\n', path: 'host.dataDir', line: 8 },
  { title: 'dataDir with a newline', text: MINIMAL + `host: { dataDir: "/var/lib/rf${INJECT}" }\n`, path: 'host.dataDir', line: 8 },
];

for (const c of cases) {
  test(`refused with FILE:LINE:COL: ${c.title}`, (t) => {
    const issues = issuesOf(c.text);
    const hit = issueAt(issues, c.path);
    t.truthy(hit, `no issue at ${c.path}; got:\n${formatIssues(issues)}`);
    t.is(hit?.file, FILE);
    t.is(hit?.line, c.line, formatIssues(issues));
    t.true((hit?.col ?? 0) > 0);
  });
}

test('ordinary user and group names, numeric ids and plain values still validate', (t) => {
  for (const section of ['{ user: runner }', '{ user: gh-runner_1, group: docker }', '{ user: "1001", group: "1001" }', '{ user: svc.runner }']) {
    t.deepEqual(issuesOf(systemd(section)), [], section);
  }
  t.deepEqual(issuesOf(MINIMAL + '    env: { MSG: "tab\tok, quotes \\"ok\\" and 100%" }\n'), []);
});
