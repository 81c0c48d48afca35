import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sanitizeHostName } from '../../src/config/names.js';
import { tempDir } from '../helpers/temp.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const EXAMPLE = path.join(ROOT, 'config.example.yaml');
const HOST = sanitizeHostName(os.hostname());

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real entry point through tsx, so no build is needed; a bare environment like a fresh machine. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'src/cli/bin.ts'), ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH, HOME: os.tmpdir(), ...env }, timeout: 100_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function tempConfig(t: ExecutionContext, text: string): Promise<string> {
  const dir = await tempDir(t, 'rf-cli-');
  const file = path.join(dir, 'config.yaml');
  await writeFile(file, text);
  return file;
}

test.serial('--version prints the package version', async (t) => {
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const r = await cli(['--version']);
  t.is(r.code, 0);
  t.is(r.stdout.trim(), pkg.version);
});

test.serial('--help on the program and on a command exits 0', async (t) => {
  for (const args of [['--help'], ['plan', '--help']]) {
    const r = await cli(args);
    t.is(r.code, 0, r.stderr);
    t.regex(r.stdout, /Usage: runner-fleet/);
  }
});

test.serial('a usage error exits 2', async (t) => {
  t.is((await cli(['frobnicate'])).code, 2);
});

test.serial('validate: the example config is OK, exit 0, one summary line', async (t) => {
  // With its webhook secret set, as deployed; without it the example's webhook pool could not scale (a warning).
  const r = await cli(['validate', '-c', EXAMPLE], { WEBHOOK_SECRET: 's3cret' });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^config OK: 3 pools, .*2 tools \(.*config\.example\.yaml\)\n$/);
  const bare = await cli(['validate', '-c', EXAMPLE]);
  t.is(bare.code, 0, bare.stderr);
  t.regex(bare.stderr, /pools\[1\]\.scale: warning: .*webhookSecret/);
});

test.serial('validate: $RUNNER_FLEET_CONFIG is used when -c is absent', async (t) => {
  const r = await cli(['validate'], { RUNNER_FLEET_CONFIG: EXAMPLE });
  t.is(r.code, 0, r.stderr);
});

test.serial('validate: every problem as FILE:LINE:COL: path: message, exit 2', async (t) => {
  const file = await tempConfig(t, `github:
  auth: { token: x }
colour: blue
pools:
  - name: cd
    scope: { org: acme }
    size: 1
    scale: { max: 2 }
    backend: process
    network: { dns: [10.0.0.2] }
`);
  const r = await cli(['validate', '-c', file]);
  t.is(r.code, 2);
  t.is(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  t.true(lines.includes(`${file}:3:1: colour: unknown key "colour"`), r.stderr);
  t.true(lines.some((l) => l.startsWith(`${file}:8:5: pools[0].scale: `)), r.stderr);
  t.true(lines.some((l) => l.startsWith(`${file}:10:16: pools[0].network.dns: `)), r.stderr);
});

test.serial('validate: a missing config file exits 2', async (t) => {
  const r = await cli(['validate', '-c', path.join(os.tmpdir(), 'no-such-runner-fleet.yaml')]);
  t.is(r.code, 2);
  t.regex(r.stderr, /not found/);
});

test.serial('plan --json: pools, names, labels, backend, tools; no secrets', async (t) => {
  const r = await cli(['plan', '--json', '--arch', 'x64', '-c', EXAMPLE], { GITHUB_TOKEN: 'ghp_SECRET_VALUE', WEBHOOK_SECRET: 'hook_SECRET' });
  t.is(r.code, 0, r.stderr);
  t.false(r.stdout.includes('SECRET'));
  const plan = JSON.parse(r.stdout);
  t.is(plan.host.name, HOST, 'the machine name by default');
  t.is(plan.host.arch, 'x64');
  t.true(plan.api.webhook);
  const cd = plan.pools.find((p: { name: string }) => p.name === 'cd');
  t.like(cd.runners, { sizing: 'fixed', desired: 2, example: `${HOST}-cd-xxxxxxxx` });
  t.true(new RegExp(cd.runners.pattern).test(`${HOST}-cd-abc123`));
  t.deepEqual(cd.labels, ['self-hosted', 'linux', 'x64', 'cd-pipeline', 'docker']);
  t.like(cd.backend, { kind: 'docker', image: 'ghcr.io/actions/actions-runner:latest', privileged: false, dockerSocket: false });
  t.is(cd.registration, 'jit');
  t.deepEqual(cd.scope, { kind: 'org', key: 'org:my-org', url: 'https://github.com/my-org' });
  t.deepEqual(cd.network.dns, ['10.0.0.2']);
  const deploy = plan.pools.find((p: { name: string }) => p.name === 'deploy');
  t.like(deploy.backend, { kind: 'systemd', unit: `runner-fleet-${HOST}-deploy-xxxxxxxx.service`, user: 'runner' });
  t.is(deploy.registration, 'config.sh');
  const burst = plan.pools.find((p: { name: string }) => p.name === 'burst');
  t.is(burst.registration, 'scaleset');
  t.deepEqual(burst.labels, ['cd-burst'], 'scale-set runners get no default labels');
  t.like(burst.scaleSet, { name: `${HOST}-burst`, runnerGroup: 'Default', runsOn: 'cd-burst', capacity: 20 });
  const argocd = plan.tools.find((x: { name: string }) => x.name === 'argocd');
  t.is(argocd.url, 'https://github.com/argoproj/argo-cd/releases/download/v2.13.3/argocd-linux-amd64');
  t.is(argocd.dir, '/var/lib/runner-fleet/tools/argocd/v2.13.3/x64');
  const yq = plan.tools.find((x: { name: string }) => x.name === 'yq');
  t.is(yq.url, 'https://github.com/mikefarah/yq/releases/download/v4.40.5/yq_linux_amd64');
});

test.serial('plan: human output calls out privileged and docker socket; invalid config exits 2', async (t) => {
  const file = await tempConfig(t, `github: { auth: { token: ghp_SECRET } }
pools:
  - name: dind
    scope: { org: acme }
    size: 1
    backend: docker
    docker: { image: "docker:dind", privileged: true, dockerSocket: true }
`);
  const ok = await cli(['plan', '-c', file]);
  const bad = await cli(['plan', '-c', EXAMPLE.replace('example', 'nope')]);
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stdout, /WARNING: privileged/);
  t.regex(ok.stdout, /WARNING: Docker socket/);
  t.false(ok.stdout.includes('SECRET'));
  t.is(bad.code, 2);
});
