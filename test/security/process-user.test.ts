/**
 * Hostile jobs in process runners that run as their own user: what they can read of the
 * daemon's secrets and of the runner's own start-up secrets.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { createProcessBackend } from '../../src/backends/process/index.js';
import { startEmulator } from '../emulator/index.js';
import { poolYaml, startTestDaemon, until } from '../helpers/daemon.js';
import { ensureJobUser, JOB_USER, snapshot } from './isolation-kit.js';
import { capturedLogger } from '../daemon/docker-kit.js';
import { buildPlan } from '../../src/cli/plan.js';
import { checkJobIsolation } from '../../src/doctor/index.js';
import { config, context, pool } from '../doctor/util.js';
import { silentLogger } from '../../src/log.js';
import { tempDir } from '../runner/util.js';

const TOKEN = `AREGTOKEN${process.pid}PROCESS`;
const CANARY = `daemon-env-canary-${process.pid}`;
/** Writes into the shared runner files through the job's own root. */
const ATTACK_LITE = `for f in "$R/bin/Runner.Listener" "$R/config.sh" "$R/externals/node20/bin/node"; do
  if sh -c "echo pwned >> '$f'" 2>/dev/null; then echo "ATTACK-OK: $f"; fi
  if chmod 0777 "$f" 2>/dev/null; then echo "ATTACK-OK: chmod $f"; fi
done`;

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
  await until(async () => (fs.existsSync(path.join(root, 'done')) ? true : undefined), 10_000, 'job').catch(async (e) => {
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

test.serial('a process pool with process.user: its jobs run as that user and reach neither the daemon\'s secrets nor another pool\'s runners', async (t) => {
  if (process.getuid?.() !== 0) return void t.fail('needs root (useradd, switching users)');
  t.timeout(3 * 60_000);
  ensureJobUser();
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  process.env.RF_SEC_CANARY = CANARY;
  t.teardown(() => void delete process.env.RF_SEC_CANARY);
  const pools = poolYaml({ name: 'jobs', size: 1, labels: ['hostile'], env: { RUNNER_ALLOW_RUNASROOT: '' }, extra: `    process: { user: ${JOB_USER} }\n` })
    + poolYaml({ name: 'trusted', size: 1, labels: ['trusted'] });
  // The job user must traverse to its root, as under /var/lib in production.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-sec-pu-'));
  fs.chmodSync(dir, 0o711);
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const log = capturedLogger();
  const fx = await startTestDaemon(t, emu, pools, { host: 'hpu', dir, logger: log.logger });
  t.teardown(() => {
    if (!t.passed) t.log(log.lines.filter((l) => /"level":(40|50)/.test(l)).slice(-15).join('\n'));
  });
  t.teardown(() => fx.stop('drain'));
  await emu.waitForRunners((rs) => rs.filter((r) => r.status === 'online').length === 2, 60_000);
  const dataDir = fx.config.host.dataDir;
  const cacheBefore = snapshot(path.join(dataDir, 'cache', 'runner'));

  const other = emu.runners().find((r) => r.name.startsWith('hpu-trusted-'))!.name;
  const otherRoot = path.join(dataDir, 'runners', other);
  await until(() => fs.existsSync(path.join(otherRoot, '.credentials_rsaparams')), 30_000, 'the trusted runner configured');
  fs.chmodSync(fx.configPath, 0o600);
  const script = `R="\${RUNNER_WORKSPACE%/_work}"; D="${dataDir}"
echo "user=$(id -un) group=$(id -gn)"
for f in "$D/state.db" "$D/state.db-wal" "${fx.configPath}" "${otherRoot}/.credentials_rsaparams" "${otherRoot}/.runner" "${otherRoot}/.env"; do
  if cat "$f" > /dev/null 2>&1; then echo "READ-OK: $f"; else echo "unreadable: $f"; fi
done
if ls "${otherRoot}" > /dev/null 2>&1; then echo "LIST-OK: ${otherRoot}"; fi
# The job runs under bash -e: an unreadable environ must not end the loop.
for p in /proc/[0-9]*; do cat $p/environ 2>/dev/null || true; echo; done | tr '\\0' '\\n' > "$R/_work/environs"
echo "environ-lines=$(grep -c RUNNER_TOOL_CACHE "$R/_work/environs")"
if grep -q "${CANARY}" "$R/_work/environs"; then echo "READ-OK: daemon environment"; fi
${ATTACK_LITE}`;
  const job = await emu.waitForJob(emu.queueJob({ labels: ['self-hosted', 'hostile'], script }), 60_000);
  // process.isolation defaults to per-runner: the runner's own user, in the pool user's group.
  t.regex(job.output, new RegExp(`^user=rf-[0-9a-f]{13} group=${JOB_USER}$`, 'm'));
  t.regex(job.output, /unreadable: .*state\.db/);
  t.regex(job.output, /unreadable: .*\.credentials_rsaparams/);
  t.regex(job.output, /^environ-lines=[1-9]/m, 'the job did read the environments it could');
  t.false(job.output.includes('READ-OK'), job.output);
  t.false(job.output.includes('LIST-OK'), job.output);
  t.false(job.output.includes('ATTACK-OK'), job.output);
  t.deepEqual(snapshot(path.join(dataDir, 'cache', 'runner')), cacheBefore);
  // The trusted pool's runner still works.
  const ok = await emu.waitForJob(emu.queueJob({ labels: ['self-hosted', 'trusted'], script: 'echo trusted-ok' }), 60_000);
  t.is(ok.conclusion, 'success');
});

test('plan and doctor say plainly who a job runs as, and what a process pool without process.user exposes', async (t) => {
  const cfg = config('/var/lib/rf', {
    pools: [
      // Allowed to run as root (a root daemon without process.user): the RUNNER_AS_ROOT check is its own test.
      pool({ name: 'open', env: { RUNNER_ALLOW_RUNASROOT: '1' } }),
      pool({ name: 'boxed', process: { user: JOB_USER } }),
      pool({ name: 'dind', backend: 'docker', docker: { image: 'x', runnerFrom: 'cache', privileged: true, dockerSocket: true, imageRunnerDir: '/home/runner', pull: 'never' } }),
    ],
  });
  const rows = await checkJobIsolation(context(cfg));
  const open = rows.filter((r) => r.name === 'isolation open');
  t.is(open.length, 1);
  t.is(open[0]!.status, 'warn');
  t.regex(open[0]!.detail, /daemon's user/);
  t.regex(open[0]!.detail, /\/var\/lib\/rf\/state\.db/);
  t.regex(open[0]!.detail, /\/test\/config\.yaml/);
  t.is(rows.find((r) => r.name === 'isolation boxed')?.status, process.getuid?.() === 0 ? 'ok' : 'fail');
  t.is(rows.filter((r) => r.name === 'isolation dind' && r.status === 'warn').length, 2, 'privileged and the socket');

  const plan = buildPlan(cfg, 'x64');
  const warningsOf = (name: string) => plan.pools.find((p) => p.name === name)?.warnings ?? [];
  t.true(warningsOf('open').some((w) => /daemon's own user/.test(w)));
  t.false(warningsOf('boxed').some((w) => /daemon's own user/.test(w)));
  t.is(plan.pools.find((p) => p.name === 'boxed')?.backend.user, JOB_USER);
});
