/**
 * Hostile jobs in process runners that run as their own user: what they can read of the
 * daemon's secrets and of the runner's own start-up secrets.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { createProcessBackend } from '../../src/backends/process/index.js';
import { silentLogger } from '../../src/log.js';
import { waitFor } from '../backends/contract.js';
import { tempDir } from '../runner/util.js';

export const JOB_USER = 'rf-sec-job';
const TOKEN = `AREGTOKEN${process.pid}PROCESS`;

export function ensureJobUser(): { uid: number; gid: number } {
  try {
    execFileSync('id', ['-u', JOB_USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/bin/sh', JOB_USER], { stdio: 'ignore' });
  }
  const id = (flag: string) => Number(execFileSync('id', [flag, JOB_USER], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** Like the persistent start script: use the token, drop it, exec the Listener, whose job then looks around. */
const RUNNER = `printf '%s' "$ACTIONS_RUNNER_INPUT_TOKEN" > "$R/runner-had-token"
unset ACTIONS_RUNNER_INPUT_TOKEN
exec sh -c '
  for p in /proc/[0-9]*; do cat $p/environ 2>/dev/null; echo; done | tr "\\0" "\\n" > "$R/environs"
  ls -a "$R/.rf" > "$R/rf-listing"
  touch "$R/done"
  exec sleep 300'
`;

test('the supervising shim keeps no secret in its environment; the secret file is gone once the runner runs', async (t) => {
  if (process.getuid?.() !== 0) return void t.fail('needs root (useradd, switching users)');
  const ids = ensureJobUser();
  const dataDir = await tempDir(t, 'rf-sec-proc-');
  fs.chmodSync(dataDir, 0o711);
  const name = 'h1-cd-shim01';
  const root = path.join(dataDir, 'runners', name);
  fs.mkdirSync(path.dirname(root), { mode: 0o711 });
  fs.mkdirSync(root, { mode: 0o700 });
  fs.chownSync(root, ids.uid, ids.gid);
  const backend = createProcessBackend({ host: 'h1', dataDir, logger: silentLogger(), pollMs: 50 });
  t.teardown(() => backend.destroy(name, { graceMs: 0 }).catch(() => undefined));
  await backend.create({
    name, pool: 'cd', host: 'h1', root, user: `${ids.uid}:${ids.gid}`,
    command: ['/bin/sh', '-c', RUNNER],
    env: { PATH: '/usr/bin:/bin', R: root, POOL_VAR: 'visible' },
    secretEnv: { ACTIONS_RUNNER_INPUT_TOKEN: TOKEN },
    mounts: [], ephemeral: false, network: { dns: [], extraHosts: {} },
  });
  await waitFor('job', async () => (fs.existsSync(path.join(root, 'done')) ? true : undefined), 10_000).catch(async (e) => {
    t.log(await backend.logs!(name, { tail: 50 }));
    throw e;
  });
  t.is(fs.readFileSync(path.join(root, 'runner-had-token'), 'utf8'), TOKEN, 'the runner got its token');
  const environs = fs.readFileSync(path.join(root, 'environs'), 'utf8');
  t.true(environs.includes('POOL_VAR=visible'), 'the job could read its own processes');
  t.false(environs.includes(TOKEN), 'the registration token is readable from a /proc/*/environ');
  t.false(fs.readFileSync(path.join(root, 'rf-listing'), 'utf8').includes('secret.env'));
  t.false(fs.existsSync(path.join(root, '.rf', 'secret.env')));
});
