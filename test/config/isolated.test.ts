/**
 * The daemon loads its config in a worker thread (src/config/isolated.ts) so the validator is
 * not resident for its lifetime: the same config and the same errors as loadConfig, and the
 * CLI's static module graph (what the daemon carries) holds no validator, YAML parser, App
 * auth or tar.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { loadConfigIsolated } from '../../src/config/isolated.js';
import { isFleetError } from '../../src/errors.js';
import { MINIMAL, tempDir, writeTemp } from './helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test('loadConfigIsolated: the same config as loadConfig, secrets read from files included', async (t) => {
  const dir = await tempDir(t);
  await writeTemp(dir, 'tok', 's3cret\n');
  const file = await writeTemp(dir, 'c.yaml', `${MINIMAL}    env: { STAGE: "\${STAGE}" }\napi: { tokenFile: ./tok }\n`);
  const env = { STAGE: 'prod' };
  const isolated = await loadConfigIsolated(file, env);
  t.deepEqual(isolated, await loadConfig(file, env));
  t.is(isolated.api.token, 's3cret');
});

test('loadConfigIsolated: CONFIG_NOT_FOUND, and a ConfigError with every located issue', async (t) => {
  const dir = await tempDir(t);
  const missing = await t.throwsAsync(loadConfigIsolated(path.join(dir, 'nope.yaml'), {}));
  t.true(isFleetError(missing, 'CONFIG_NOT_FOUND'));
  const bad = await writeTemp(dir, 'bad.yaml', 'pools: 3\nbogus: 1\n');
  const err = await t.throwsAsync(loadConfigIsolated(bad, {}));
  t.true(err instanceof ConfigError);
  t.true(isFleetError(err, 'CONFIG_INVALID'));
  const direct = await t.throwsAsync(loadConfig(bad, {}));
  t.deepEqual((err as ConfigError).issues, (direct as ConfigError).issues);
  t.true((err as ConfigError).issues.length >= 2);
});

test('the CLI statically imports no validator, YAML parser, App auth or tar (the daemon loads them only when used)', async (t) => {
  const hooks = path.join(await tempDir(t), 'module-trace.mjs');
  writeFileSync(
    hooks,
    `export async function resolve(s, c, next) { const r = await next(s, c); const m = r.url.match(/node_modules\\/((?:@[^/]+\\/)?[^/]+)/); if (m) process.stderr.write('[pkg] ' + m[1] + '\\n'); return r; }\n`,
  );
  const register = `data:text/javascript,import{register}from'node:module';register(${JSON.stringify(`file://${hooks}`)});`;
  const r = spawnSync(process.execPath, ['--import', register, '--import', 'tsx', path.join(ROOT, 'src/cli/bin.ts'), '--version'], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const loaded = new Set([...r.stderr.matchAll(/^\[pkg\] (.+)$/gm)].map((m) => m[1]));
  t.true(loaded.has('commander'), 'the trace sees packages');
  for (const heavy of ['zod', 'yaml', 'node-cron', '@octokit/auth-app', 'tar', 'dockerode', 'undici']) t.false(loaded.has(heavy), heavy);
});
