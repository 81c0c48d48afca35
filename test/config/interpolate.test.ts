import test from 'ava';
import { interpolateString } from '../../src/config/interpolate.js';
import { check, issueAt, issuesOf, MINIMAL } from './helpers.js';

test('interpolateString: set, default, unset, empty, escape', (t) => {
  const env = { A: 'x', EMPTY: '' };
  t.deepEqual(interpolateString('${A}-${A}', env), { value: 'x-x', errors: [] });
  t.is(interpolateString('${B:-dflt}', env).value, 'dflt');
  t.is(interpolateString('${EMPTY:-dflt}', env).value, 'dflt', ':- also covers empty');
  t.is(interpolateString('${EMPTY-dflt}', env).value, '', '- only covers unset');
  t.is(interpolateString('${B-dflt}', env).value, 'dflt');
  t.is(interpolateString('${B:-}', env).value, '');
  t.is(interpolateString('$${A} costs $5', env).value, '${A} costs $5');
  t.is(interpolateString('${B}', env).errors.length, 1);
  t.is(interpolateString('${1X}', env).errors.length, 1, 'malformed name');
  t.is(interpolateString('${A', env).errors.length, 1, 'unterminated');
  t.is(interpolateString('${B:-a:b/c}', env).value, 'a:b/c', 'defaults may hold colons and slashes');
});

test('variables are replaced in values anywhere in the file', (t) => {
  const text = `github:
  url: \${GH_URL:-https://github.com}
  auth:
    token: \${GITHUB_TOKEN}
pools:
  - name: \${POOL:-cd}
    scope: { org: "\${ORG}" }
    size: \${SIZE:-2}
    ephemeral: \${EPHEMERAL:-false}
    labels: ["\${LABEL}", static]
`;
  const { config, issues } = check(text, { GITHUB_TOKEN: 'ghp_abc', ORG: 'acme', LABEL: 'cd-pipeline', GH_URL: 'https://ghe.corp' });
  t.deepEqual(issues, []);
  t.is(config?.github.url, 'https://ghe.corp');
  t.deepEqual(config?.github.auth, { kind: 'token', token: 'ghp_abc' });
  t.is(config?.pools[0]?.name, 'cd');
  t.deepEqual(config?.pools[0]?.scope, { kind: 'org', org: 'acme' });
  t.is(config?.pools[0]?.size, 2, 'a number from a default');
  t.is(config?.pools[0]?.ephemeral, false, 'a boolean from a default');
  t.deepEqual(config?.pools[0]?.labels, ['cd-pipeline', 'static']);
});

test('a numeric-looking secret stays a string', (t) => {
  const { config } = check(MINIMAL.replace('t0ken', '${TOKEN}'), { TOKEN: '12345' });
  t.deepEqual(config?.github.auth, { kind: 'token', token: '12345' });
});

test('an unset variable without default is an error at its key, reported once', (t) => {
  const issues = issuesOf(MINIMAL.replace('t0ken', '${GITHUB_TOKEN}'));
  const at = issues.filter((i) => i.path === 'github.auth.token');
  t.is(at.length, 1);
  t.is(at[0]?.line, 3);
  t.is(at[0]?.col, 12);
});

test('several unset variables are all reported', (t) => {
  const text = MINIMAL.replace('t0ken', '${T1}').replace('acme', '"${ORG}"') + '    labels: ["${L1}-${L2}"]\n';
  const issues = issuesOf(text);
  t.truthy(issueAt(issues, 'github.auth.token'));
  t.truthy(issueAt(issues, 'pools[0].scope.org'));
  t.is(issues.filter((i) => i.path === 'pools[0].labels[0]').length, 2);
});

test('variables in comments are ignored', (t) => {
  const { issues } = check('# token: ${NOT_SET}\n' + MINIMAL + '    # size: ${ALSO_NOT_SET}\n');
  t.deepEqual(issues, []);
});

test('an optional key that interpolates to empty counts as unset', (t) => {
  const text = `${MINIMAL}network:
  proxy: { http: "\${HTTP_PROXY:-}", https: "\${HTTPS_PROXY:-}" }
  caFile: \${CA_FILE:-}
`;
  const { config, issues } = check(text.replace('token: t0ken', 'token: t0ken\n    tokenFile: ${TOKEN_FILE:-}'), { HTTPS_PROXY: 'http://proxy:3128' });
  t.deepEqual(issues, []);
  t.deepEqual(config?.network.proxy, { https: 'http://proxy:3128' });
  t.is(config?.network.caFile, undefined);
  t.deepEqual(config?.github.auth, { kind: 'token', token: 't0ken' });
});

test('an unset ${VAR} that is all of api.token or api.webhookSecret (written so in the contract\'s example, "optional") leaves it unset with a warning; partial or elsewhere it stays an error', (t) => {
  const api = 'api:\n  token: ${RUNNER_FLEET_API_TOKEN}\n  webhookSecret: ${WEBHOOK_SECRET}\n';
  const r = check(MINIMAL + api);
  t.deepEqual(r.issues, []);
  t.is(r.config?.api.token, undefined);
  t.is(r.config?.api.webhookSecret, undefined);
  t.deepEqual((r.warnings ?? []).filter((w) => /RUNNER_FLEET_API_TOKEN|WEBHOOK_SECRET/.test(w.message)).map((w) => w.path).sort(), ['api.token', 'api.webhookSecret']);
  const set = check(MINIMAL + api, { RUNNER_FLEET_API_TOKEN: 'tok', WEBHOOK_SECRET: 'sec' });
  t.is(set.config?.api.token, 'tok');
  t.is(set.config?.api.webhookSecret, 'sec');
  // Part of a value, or a key whose absence is not just "off": still an error.
  t.truthy(issueAt(issuesOf(MINIMAL + 'api:\n  token: "x-${RUNNER_FLEET_API_TOKEN}"\n'), 'api.token'));
  t.truthy(issueAt(issuesOf(MINIMAL.replace('t0ken', '${GITHUB_TOKEN}')), 'github.auth.token'));
});
