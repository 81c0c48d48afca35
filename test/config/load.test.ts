import test from 'ava';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { ConfigError, loadConfig, sanitizeHostName } from '../../src/config/index.js';
import { isFleetError } from '../../src/errors.js';
import { check, MINIMAL, tempDir, writeTemp } from './helpers.js';

const EXAMPLE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../config.example.yaml');

test('config.example.yaml validates on a bare environment', async (t) => {
  const cfg = await loadConfig(EXAMPLE, {});
  t.is(cfg.source, EXAMPLE);
  t.is(cfg.host.name, sanitizeHostName(os.hostname()));
  t.deepEqual(cfg.tools.map((x) => x.name), ['argocd', 'yq']);
  t.true(cfg.tools.every((x) => /^[0-9a-f]{64}$/.test(x.sha256 ?? '')));
  t.true(cfg.pools.length >= 1);
  t.is(cfg.api.token, undefined, 'an empty ${VAR:-} optional secret means unset');
});

test('defaults follow the contract', (t) => {
  const { config, issues } = check(MINIMAL);
  t.deepEqual(issues, []);
  if (!config) return t.fail();
  t.is(config.host.name, 'build-01');
  t.is(config.host.dataDir, '/var/lib/runner-fleet');
  t.is(config.github.url, 'https://github.com');
  t.is(config.github.apiUrl, 'https://api.github.com');
  t.deepEqual(config.github.auth, { kind: 'token', token: 't0ken' });
  t.is(config.runner.version, 'latest');
  t.is(config.runner.updateSchedule, '0 4 * * *');
  t.is(config.tokens.refreshSchedule, '*/10 * * * *');
  t.deepEqual(config.api.listen, { host: '127.0.0.1', port: 8484 });
  t.is(config.reconcile.intervalMs, 10_000);
  t.deepEqual(config.shutdown, { mode: 'drain', drainTimeoutMs: 600_000 });
  t.deepEqual(config.tools, []);
  const pool = config.pools[0];
  t.is(pool?.backend, 'process');
  t.is(pool?.runnerGroup, 'Default');
  t.is(pool?.ephemeral, true);
  t.is(pool?.allowPublicRepos, false);
  t.deepEqual(pool?.scope, { kind: 'org', org: 'acme' });
  t.deepEqual(pool?.network, { dns: [], extraHosts: {}, checks: [] });
});

test('GHES: apiUrl is derived from url', (t) => {
  const { config } = check(MINIMAL.replace('github:\n', 'github:\n  url: https://ghe.example.com/\n'));
  t.is(config?.github.url, 'https://ghe.example.com');
  t.is(config?.github.apiUrl, 'https://ghe.example.com/api/v3');
});

test('durations, scale, repo scope and docker defaults normalize', (t) => {
  const full = `${MINIMAL}  - name: big
    scope: { repo: acme/app }
    backend: docker
    scale: { minIdle: 1, max: 5 }
    docker: { image: runner:1, memory: 4G }
reconcile: { interval: 1h30m }
shutdown: { mode: keep, drainTimeout: 500ms }
api: { listen: "[::1]:9000" }
`;
  const { config, issues } = check(full);
  t.deepEqual(issues, []);
  t.is(config?.reconcile.intervalMs, 5_400_000);
  t.deepEqual(config?.shutdown, { mode: 'keep', drainTimeoutMs: 500 });
  t.deepEqual(config?.api.listen, { host: '::1', port: 9000 });
  const big = config?.pools[1];
  t.deepEqual(big?.scope, { kind: 'repo', owner: 'acme', repo: 'app' });
  t.deepEqual(big?.scale, { minIdle: 1, max: 5, idleTimeoutMs: 300_000 });
  t.is(big?.size, undefined);
  t.like(big?.backend === 'docker' ? big.docker : undefined, { image: 'runner:1', memory: '4g', runnerFrom: 'cache', privileged: false, dockerSocket: false, imageRunnerDir: '/home/runner', pull: 'missing' });
});

test('a pool network overrides the global one key by key', (t) => {
  const text = `${MINIMAL}    backend: docker
    docker: { image: x }
    network:
      dns: [10.0.0.9]
      proxy: null
network:
  proxy: { http: "http://proxy:3128", noProxy: [".internal", "10.0.0.0/8"] }
  caFile: /etc/ca.pem
  dns: [10.0.0.2]
  extraHosts: { argocd.internal: 10.20.0.15 }
  checks: ["argocd.internal:443"]
`;
  const { config, issues } = check(text);
  t.deepEqual(issues, []);
  t.deepEqual(config?.network.proxy, { http: 'http://proxy:3128', noProxy: '.internal,10.0.0.0/8' });
  t.deepEqual(config?.pools[0]?.network, {
    caFile: '/etc/ca.pem',
    dns: ['10.0.0.9'],
    extraHosts: { 'argocd.internal': '10.20.0.15' },
    checks: ['argocd.internal:443'],
  });
});

test('a missing file is CONFIG_NOT_FOUND, an invalid one a ConfigError with issues', async (t) => {
  const dir = await tempDir(t);
  const missing = await t.throwsAsync(loadConfig(path.join(dir, 'nope.yaml'), {}));
  t.true(isFleetError(missing, 'CONFIG_NOT_FOUND'));
  const bad = await writeTemp(dir, 'bad.yaml', 'pools: 3\n');
  const err = await t.throwsAsync(loadConfig(bad, {}));
  t.true(err instanceof ConfigError);
  t.true(isFleetError(err, 'CONFIG_INVALID'));
  t.true((err as ConfigError).issues.length >= 1);
  t.is((err as ConfigError).issues[0]?.file, bad);
});

test('relative paths resolve against the config file directory', async (t) => {
  const dir = await tempDir(t);
  await mkdir(path.join(dir, 'secrets'));
  await writeTemp(dir, 'secrets/t', 's3cret\n');
  const file = await writeTemp(dir, 'c.yaml', `${MINIMAL}    secretEnv: { TOKEN: secrets/t }\nhost: { dataDir: ./data }\n`);
  const cfg = await loadConfig(file, {});
  t.is(cfg.host.dataDir, path.join(dir, 'data'));
  t.is(cfg.pools[0]?.secretEnv.TOKEN, path.join(dir, 'secrets/t'));
});
