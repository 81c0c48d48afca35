import test from 'ava';
import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig, type ConfigError } from '../../src/config/index.js';
import { isFleetError } from '../../src/errors.js';
import { tempDir, writeTemp } from './helpers.js';

const pool = `pools:
  - name: cd
    scope: { org: acme }
    size: 1
`;

test('tokenFile is read and its trailing newline dropped', async (t) => {
  const dir = await tempDir(t);
  await writeTemp(dir, 'token', 'ghp_fromfile\n');
  const file = await writeTemp(dir, 'c.yaml', `github:\n  auth:\n    tokenFile: ${dir}/token\n${pool}`);
  const cfg = await loadConfig(file, {});
  t.deepEqual(cfg.github.auth, { kind: 'token', token: 'ghp_fromfile' });
});

test('systemd credentials: ${CREDENTIALS_DIRECTORY}/name', async (t) => {
  const dir = await tempDir(t);
  const creds = path.join(dir, 'creds');
  await mkdir(creds);
  await writeTemp(creds, 'github-token', 'ghp_cred');
  await writeTemp(creds, 'api-token', 'api-secret\n');
  await writeTemp(creds, 'webhook', 'hook-secret\n');
  await writeTemp(creds, 'app.pem', '-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----\n');
  const yaml = (auth: string): string =>
    `github:\n  auth:\n${auth}\napi:\n  tokenFile: \${CREDENTIALS_DIRECTORY}/api-token\n  webhookSecretFile: \${CREDENTIALS_DIRECTORY}/webhook\n${pool}`;
  const env = { CREDENTIALS_DIRECTORY: creds };
  const a = await loadConfig(await writeTemp(dir, 'a.yaml', yaml('    tokenFile: ${CREDENTIALS_DIRECTORY}/github-token')), env);
  t.deepEqual(a.github.auth, { kind: 'token', token: 'ghp_cred' });
  t.is(a.api.token, 'api-secret');
  t.is(a.api.webhookSecret, 'hook-secret');
  const b = await loadConfig(
    await writeTemp(dir, 'b.yaml', yaml('    app: { appId: 12, installationId: 34, privateKeyFile: "${CREDENTIALS_DIRECTORY}/app.pem" }')),
    env,
  );
  t.like(b.github.auth, { kind: 'app', appId: 12, installationId: 34 });
  t.true(b.github.auth.kind === 'app' && b.github.auth.privateKey.endsWith('-----END RSA PRIVATE KEY-----'));
});

test('an unreadable secret file is a located issue', async (t) => {
  const dir = await tempDir(t);
  const file = await writeTemp(dir, 'c.yaml', `github:\n  auth:\n    tokenFile: ${dir}/missing\napi:\n  webhookSecretFile: ${dir}/also-missing\n${pool}`);
  const err = await t.throwsAsync(loadConfig(file, {}));
  t.true(isFleetError(err, 'CONFIG_INVALID'));
  const issues = (err as ConfigError).issues;
  t.like(issues.find((i) => i.path === 'github.auth.tokenFile'), { file, line: 3, col: 16 });
  t.like(issues.find((i) => i.path === 'api.webhookSecretFile'), { file, line: 5 });
});

test('an empty secret file is an issue', async (t) => {
  const dir = await tempDir(t);
  await writeTemp(dir, 'token', '\n');
  const file = await writeTemp(dir, 'c.yaml', `github:\n  auth:\n    tokenFile: ${dir}/token\n${pool}`);
  const err = await t.throwsAsync(loadConfig(file, {}));
  t.true((err as ConfigError).issues.some((i) => i.path === 'github.auth.tokenFile'));
});

test('a file without read permission is an issue (when not root)', async (t) => {
  const dir = await tempDir(t);
  const secret = await writeTemp(dir, 'token', 'x');
  await chmod(secret, 0o000);
  const file = await writeTemp(dir, 'c.yaml', `github:\n  auth:\n    tokenFile: ${secret}\n${pool}`);
  if (process.getuid?.() === 0) {
    // root reads anything: the file is simply used.
    t.deepEqual((await loadConfig(file, {})).github.auth, { kind: 'token', token: 'x' });
    return;
  }
  const err = await t.throwsAsync(loadConfig(file, {}));
  t.true((err as ConfigError).issues.some((i) => i.path === 'github.auth.tokenFile'));
});
