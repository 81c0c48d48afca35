import test from 'ava';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exitCodeFor, main } from '../../src/cli/index.js';
import { ConfigError } from '../../src/config/errors.js';
import { FleetError } from '../../src/errors.js';
import { tempDir } from '../helpers/temp.js';

/** In-process runs of the same entry point bin.ts calls: cheap enough for breadth. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const EXAMPLE = path.join(ROOT, 'config.example.yaml');

async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'runner-fleet', ...args], {
    env,
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  });
  return { code, stdout, stderr };
}

const COMMANDS = [
  ['daemon'], ['validate'], ['plan'], ['status'], ['runner', 'download'], ['tools', 'install'],
  ['doctor'], ['drain'], ['deregister'], ['install-service'], ['logs'],
];

test('every contract command exists and has --help (exit 0)', async (t) => {
  const top = await run(['--help']);
  t.is(top.code, 0);
  for (const c of COMMANDS) {
    t.true(top.stdout.includes(c[0] ?? ''), `${c[0]} missing from --help`);
    const r = await run([...c, '--help']);
    t.is(r.code, 0, c.join(' '));
    t.true(r.stdout.includes(`Usage: runner-fleet ${c.join(' ')}`), r.stdout);
  }
  t.regex((await run(['drain', '--help'])).stdout, /--pool.*\n.*--timeout|--timeout/s);
  t.regex((await run(['deregister', '--help'])).stdout, /--all/);
  t.regex((await run(['status', '--help'])).stdout, /--json/);
  t.regex((await run(['plan', '--help'])).stdout, /--json/);
});

test('usage errors exit 2: unknown command, unknown option, bad choice, missing argument, no command', async (t) => {
  for (const args of [['frobnicate'], ['validate', '--nope'], ['--log-level', 'loud', 'validate'], ['logs'], []]) {
    t.is((await run(args)).code, 2, args.join(' '));
  }
});

test('validate -c example: summary on stdout, exit 0', async (t) => {
  // With its webhook secret set, the example is warning-free (without it, its webhook pool warns).
  const r = await run(['validate', '-c', EXAMPLE], { WEBHOOK_SECRET: 'example-secret' });
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, `config OK: 3 pools, 2 runners (up to 26), 2 tools (${EXAMPLE})\n`);
});

test('validate: issues on stderr in file order, exit 2', async (t) => {
  const dir = await tempDir(t, 'rf-main-');
  const file = path.join(dir, 'c.yaml');
  await writeFile(file, 'pools:\n  - name: cd\n    size: 1\n    scope: {}\nextra: 1\n');
  const r = await run(['validate', '-c', file]);
  t.is(r.code, 2);
  const lines = r.stderr.trim().split('\n');
  t.true(lines.length >= 3, r.stderr);
  t.true(lines.every((l) => l.startsWith(`${file}:`)));
  const nums = lines.map((l) => Number(l.split(':')[1]));
  t.deepEqual(nums, [...nums].sort((a, b) => a - b));
  t.true(lines.some((l) => l.includes('github.auth')));
  t.true(lines.some((l) => l.startsWith(`${file}:5:1: extra: `)));
});

test('plan --json is stable and matches the config', async (t) => {
  const a = await run(['plan', '--json', '--arch', 'arm64', '-c', EXAMPLE]);
  const b = await run(['plan', '--json', '--arch', 'arm64', '-c', EXAMPLE]);
  t.is(a.code, 0, a.stderr);
  t.is(a.stdout, b.stdout, 'no random parts in the plan');
  const plan = JSON.parse(a.stdout);
  t.deepEqual(plan.defaultLabels, ['self-hosted', 'linux', 'arm64']);
  t.is(plan.tools[0].url, 'https://github.com/argoproj/argo-cd/releases/download/v2.13.3/argocd-linux-arm64');
  t.is(plan.tools[0].dir, '/var/lib/runner-fleet/tools/argocd/v2.13.3/arm64');
  t.like(plan.pools[1].runners, { sizing: 'scale', desired: 0, max: 4, minIdle: 0, idleTimeout: '10m' });
  t.deepEqual(Object.keys(plan), ['source', 'host', 'github', 'runner', 'tokens', 'api', 'reconcile', 'shutdown', 'defaultLabels', 'pools', 'tools']);
});

test('plan never prints secrets, even from files', async (t) => {
  const dir = await tempDir(t, 'rf-main-');
  await writeFile(path.join(dir, 'token'), 'ghp_FILE_SECRET\n');
  await writeFile(path.join(dir, 'argo-token'), 'ARGO_SECRET\n');
  const file = path.join(dir, 'c.yaml');
  await writeFile(
    file,
    `github: { auth: { tokenFile: token } }
api: { token: API_SECRET, webhookSecret: HOOK_SECRET }
pools:
  - { name: cd, scope: { org: acme }, size: 1, secretEnv: { ARGO: argo-token } }
`,
  );
  for (const json of [true, false]) {
    const r = await run(['plan', ...(json ? ['--json'] : []), '-c', file]);
    t.is(r.code, 0, r.stderr);
    t.false(/SECRET/.test(r.stdout), r.stdout);
  }
});

test('exit codes: config and usage errors 2, anything else 1', (t) => {
  const quiet = { write: () => true };
  t.is(exitCodeFor(new ConfigError([{ file: 'f', line: 1, col: 1, path: 'x', message: 'm' }]), quiet), 2);
  t.is(exitCodeFor(new FleetError('CONFIG_NOT_FOUND', 'gone'), quiet), 2);
  t.is(exitCodeFor(new FleetError('USAGE', 'bad'), quiet), 2);
  t.is(exitCodeFor(new FleetError('BACKEND_FAILED', 'boom'), quiet), 1);
  t.is(exitCodeFor(new Error('boom'), quiet), 1);
});
