import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import type { PoolConfig } from '../../src/config/types.js';
import { FleetError } from '../../src/errors.js';
import { buildRunnerEnv, runnerMounts } from '../../src/runner/env.js';
import type { InstalledTool } from '../../src/tools/types.js';
import { tempDir } from './util.js';

function pool(over: Partial<PoolConfig> = {}): PoolConfig {
  return <PoolConfig>{
    name: 'cd', scope: { kind: 'org', org: 'acme' }, runnerGroup: 'Default', labels: [], backend: 'process', size: 1,
    ephemeral: true, allowPublicRepos: false, env: {}, secretEnv: {},
    network: { dns: [], extraHosts: {}, checks: [] }, ...over,
  };
}

const tool = (dataDir: string, name: string): InstalledTool => ({
  name, version: 'v1', arch: 'x64', dir: path.join(dataDir, 'tools', name, 'v1', 'x64'), binPath: '', sha256: '', versionOutput: null,
});

test('the env is built from config only: no daemon env leaks', async (t) => {
  const dataDir = await tempDir(t);
  process.env.RF_CANARY_SECRET = 'canary-value';
  process.env.GITHUB_TOKEN = 'ghp_daemon_secret';
  t.teardown(() => {
    delete process.env.RF_CANARY_SECRET;
    delete process.env.GITHUB_TOKEN;
  });
  const root = path.join(dataDir, 'runners', 'h-cd-aaaaaa');
  const r = buildRunnerEnv({
    cfg: { host: { name: 'h', dataDir } },
    pool: pool({ env: { ARGOCD_SERVER: 'argocd.internal' } }),
    tools: [tool(dataDir, 'argocd'), tool(dataDir, 'yq')],
    root,
  });
  const all = JSON.stringify(r);
  t.false(all.includes('canary-value'));
  t.false(all.includes('ghp_daemon_secret'));
  t.false('RF_CANARY_SECRET' in r.env);
  t.false('GITHUB_TOKEN' in r.env);
  t.false('RUNNER_ALLOW_RUNASROOT' in r.env);
  t.is(r.env.ARGOCD_SERVER, 'argocd.internal');
  t.is(r.env.RUNNER_TOOL_CACHE, path.join(dataDir, 'tools'));
  t.is(r.env.HOME, root);
  t.deepEqual(r.pathDirs.slice(0, 2), [tool(dataDir, 'argocd').dir, tool(dataDir, 'yq').dir]);
  t.true(r.pathDirs.includes('/usr/bin'));
  t.is(r.env.PATH, r.pathDirs.join(':'));
  t.deepEqual(r.secretEnv, {});
});

test('RUNNER_ALLOW_RUNASROOT comes only from the pool env', async (t) => {
  const dataDir = await tempDir(t);
  const r = buildRunnerEnv({ cfg: { host: { name: 'h', dataDir } }, pool: pool({ env: { RUNNER_ALLOW_RUNASROOT: '1' } }), tools: [], root: '/r' });
  t.is(r.env.RUNNER_ALLOW_RUNASROOT, '1');
});

test('proxy variables in both cases, CA variables for caFile, and the CA mounts', async (t) => {
  const dataDir = await tempDir(t);
  const caFile = path.join(dataDir, 'ca.pem');
  fs.writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  const network = {
    dns: [], extraHosts: {}, checks: [], caFile,
    proxy: { http: 'http://proxy:3128', https: 'http://proxy:3129', noProxy: '.internal,10.0.0.0/8' },
  };
  const r = buildRunnerEnv({ cfg: { host: { name: 'h', dataDir } }, pool: pool({ network }), tools: [], root: '/r' });
  t.is(r.env.HTTP_PROXY, 'http://proxy:3128');
  t.is(r.env.http_proxy, 'http://proxy:3128');
  t.is(r.env.HTTPS_PROXY, 'http://proxy:3129');
  t.is(r.env.https_proxy, 'http://proxy:3129');
  t.is(r.env.NO_PROXY, '.internal,10.0.0.0/8');
  t.is(r.env.no_proxy, '.internal,10.0.0.0/8');
  t.is(r.env.NODE_EXTRA_CA_CERTS, caFile);
  const bundle = r.env.SSL_CERT_FILE!;
  t.truthy(bundle);
  // SSL_CERT_FILE replaces OpenSSL's roots, so it must hold the system roots and the internal CA.
  const text = fs.readFileSync(bundle, 'utf8');
  t.true(text.includes('MIIB'));
  t.true(text.split('BEGIN CERTIFICATE').length > 10);

  const mounts = runnerMounts({ host: { name: 'h', dataDir } }, pool({ network }), '2.330.0');
  t.true(mounts.every((m) => m.readOnly && m.source === m.target));
  const sources = mounts.map((m) => m.source);
  t.true(sources.includes(path.join(dataDir, 'cache', 'runner', '2.330.0')));
  t.true(sources.includes(path.join(dataDir, 'tools')));
  t.true(sources.includes(caFile));
  t.true(sources.includes(path.dirname(bundle)));
});

test('secretEnv values are read from files, kept apart, and loose modes warn', async (t) => {
  const dataDir = await tempDir(t);
  const tight = path.join(dataDir, 'argocd-token');
  const loose = path.join(dataDir, 'other-token');
  fs.writeFileSync(tight, 's3cret\n', { mode: 0o600 });
  fs.writeFileSync(loose, 'l00se', { mode: 0o644 });
  fs.chmodSync(loose, 0o644);
  const r = buildRunnerEnv({
    cfg: { host: { name: 'h', dataDir } },
    pool: pool({ secretEnv: { ARGOCD_AUTH_TOKEN: tight, OTHER: loose } }),
    tools: [],
    root: '/r',
    secretValues: { ACTIONS_RUNNER_INPUT_JITCONFIG: 'jit' },
  });
  t.deepEqual(r.secretEnv, { ARGOCD_AUTH_TOKEN: 's3cret', OTHER: 'l00se', ACTIONS_RUNNER_INPUT_JITCONFIG: 'jit' });
  t.false(JSON.stringify(r.env).includes('s3cret'));
  t.is(r.warnings.length, 1);
  t.regex(r.warnings[0]!, /OTHER/);

  const missing = t.throws(() =>
    buildRunnerEnv({ cfg: { host: { name: 'h', dataDir } }, pool: pool({ secretEnv: { X: path.join(dataDir, 'nope') } }), tools: [], root: '/r' }),
  );
  t.is((missing as FleetError).code, 'RUNNER_PREPARE');
});
