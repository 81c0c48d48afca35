import path from 'node:path';
import test from 'ava';
import { cli, configYaml, json, tmp, write } from './kit.js';

const COMMANDS = [
  ['daemon'], ['validate'], ['plan'], ['status'], ['runner', 'download'], ['tools', 'install'], ['doctor'],
  ['drain'], ['undrain'], ['deregister'], ['install-service'], ['logs'],
];

interface Issue {
  file: string;
  line: number;
  col: number;
  path: string;
  message: string;
}

test('`help validate` prints the help and exits 0; no command at all is still a usage error', async (t) => {
  const r = await cli(['help', 'validate']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /Usage: runner-fleet validate/);
  t.is((await cli([])).code, 2);
});

test('every subcommand --help shows -c/--config', async (t) => {
  t.timeout(5 * 60_000); // a dozen CLI starts on a shared 2-core machine
  const runs = await Promise.all(COMMANDS.map((c) => cli([...c, '--help'])));
  COMMANDS.forEach((c, i) => {
    t.is(runs[i]!.code, 0, c.join(' '));
    t.regex(runs[i]!.stdout, /-c, --config <file>/, c.join(' '));
  });
});

test('a bad RUNNER_FLEET_LOG_LEVEL is a usage error (exit 2) like a bad --log-level', async (t) => {
  const dir = await tmp(t);
  const cfg = write(dir, 'config.yaml', configYaml({ dataDir: path.join(dir, 'data'), apiUrl: 'https://api.github.com' }));
  t.is((await cli(['validate', '-c', cfg], { RUNNER_FLEET_LOG_LEVEL: 'loud' })).code, 2);
  t.is((await cli(['--log-level', 'loud', 'validate', '-c', cfg])).code, 2);
  t.is((await cli(['validate', '-c', cfg], { RUNNER_FLEET_LOG_LEVEL: 'debug' })).code, 0);
});

test('logs for a runner that does not exist: "not found", exit 1', async (t) => {
  const dir = await tmp(t);
  const cfg = write(dir, 'config.yaml', configYaml({ dataDir: path.join(dir, 'data'), apiUrl: 'https://api.github.com' }));
  const r = await cli(['logs', 'h1-cd-nosuch1', '-c', cfg]);
  t.is(r.code, 1, r.stdout);
  t.regex(r.stderr, /not found/);
});

test('validate --json: valid, invalid (exit 2) and missing (exit 2) as one JSON document', async (t) => {
  const dir = await tmp(t);
  const good = write(dir, 'good.yaml', configYaml({ dataDir: path.join(dir, 'data'), apiUrl: 'https://api.github.com' }));
  const ok = await cli(['validate', '--json', '-c', good]);
  t.is(ok.code, 0, ok.stderr);
  t.like(json(t, ok), { valid: true, file: good, summary: { pools: 1, runners: 1, tools: 0 }, issues: [] });
  const bad = write(dir, 'bad.yaml', `${configYaml({ dataDir: path.join(dir, 'data'), apiUrl: 'https://api.github.com' })}colour: blue\n`);
  const r = await cli(['validate', '--json', '-c', bad]);
  t.is(r.code, 2);
  const doc = json<{ valid: boolean; issues: Issue[] }>(t, r);
  t.false(doc.valid);
  t.like(doc.issues.find((i) => i.path === 'colour'), { file: bad, col: 1 });
  const missing = await cli(['validate', '--json', '-c', path.join(dir, 'nope.yaml')]);
  t.is(missing.code, 2);
  t.false(json<{ valid: boolean }>(t, missing).valid);
});

test('validate warns (exit 0) about duplicate labels, a huge pool and plain-http tool downloads; counts read as English', async (t) => {
  const dir = await tmp(t);
  const cfg = write(dir, 'config.yaml', configYaml({
    dataDir: path.join(dir, 'data'), apiUrl: 'https://api.github.com',
    extra: `tools:
  - { name: yq, version: v1, url: "http://mirror.internal/yq_{arch}", checksumUrl: "http://mirror.internal/yq.sha256" }`,
    pool: `  - name: cd
    scope: { org: acme }
    backend: process
    labels: [deploy, Deploy, self-hosted]
    size: 100000`,
  }));
  const r = await cli(['validate', '-c', cfg]);
  t.is(r.code, 0, r.stderr);
  const lines = r.stderr.trim().split('\n');
  const at = (p: string) => lines.find((l) => l.startsWith(`${cfg}:`) && l.includes(`: ${p}: warning: `));
  t.truthy(at('pools[0].labels[1]'), r.stderr);
  t.truthy(at('pools[0].labels[2]'), r.stderr);
  t.regex(at('pools[0].size') ?? '', /capacity/);
  t.truthy(at('tools[0].checksumUrl'), r.stderr);
  t.truthy(at('tools[0].url'), r.stderr);
  t.regex(r.stdout, /^config OK: 1 pool, 100000 runners, 1 tool, 5 warnings/);
  const doc = json<{ warnings: Issue[] }>(t, await cli(['validate', '--json', '-c', cfg]));
  t.deepEqual(doc.warnings.map((w) => w.path).sort(), ['pools[0].labels[1]', 'pools[0].labels[2]', 'pools[0].size', 'tools[0].checksumUrl', 'tools[0].url']);

  const one = write(dir, 'one.yaml', configYaml({ dataDir: path.join(dir, 'data'), apiUrl: 'https://api.github.com' }));
  t.regex((await cli(['validate', '-c', one])).stdout, /^config OK: 1 pool, 1 runner, 0 tools \(/);
});
