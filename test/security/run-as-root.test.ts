import { promises as fs } from 'node:fs';
import test from 'ava';
import { loadConfig } from '../../src/config/load.js';
import { startEmulator } from '../emulator/index.js';
import { emulatorConfigYaml, poolYaml, startTestDaemon, until } from '../helpers/daemon.js';
import { attempts, httpStatus, online, requestCount, stopAndKillRunners } from '../daemon/lifecycle-kit.js';
import { cli, json } from '../cli/kit.js';
import { checkJobIsolation } from '../../src/doctor/isolation.js';
import type { DoctorContext } from '../../src/doctor/types.js';

/**
 * Contract §6: "runners run as root only when [the pool's env] says so". The runner's own check
 * (config.sh, run-helper.sh: uid 0 without RUNNER_ALLOW_RUNASROOT) never runs for a JIT runner,
 * whose Listener the daemon starts directly; so the daemon refuses the pool itself.
 */
test('a JIT process pool that would run as root (root daemon, no process.user) without RUNNER_ALLOW_RUNASROOT starts nothing and says RUNNER_AS_ROOT; setting it in the env (SIGHUP) lets it start', async (t) => {
  if (process.getuid?.() !== 0) {
    t.fail('needs root: the daemon must run as root for its runners to (run as root or not)');
    return;
  }
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const pools = (allow: string) => poolYaml({ name: 'cd', size: 1 }) + poolYaml({ name: 'rooty', size: 1, env: { RUNNER_ALLOW_RUNASROOT: allow } });
  const fx = await startTestDaemon(t, emu, pools(''));
  t.teardown(() => stopAndKillRunners(fx));

  // plan (run as root, like the daemon) says so beforehand.
  const plan = json<{ pools: { name: string; warnings: string[] }[] }>(t, await cli(['plan', '--json', '-c', fx.configPath]));
  t.true(plan.pools.find((p) => p.name === 'rooty')!.warnings.some((w) => w.includes('RUNNER_AS_ROOT')));
  t.false(plan.pools.find((p) => p.name === 'cd')!.warnings.some((w) => w.includes('RUNNER_AS_ROOT')));
  // doctor too, as a warning on the pool's isolation row.
  const rows = await checkJobIsolation({ cfg: fx.config } as DoctorContext);
  t.true(rows.some((r) => r.name === 'isolation rooty' && r.status === 'warn' && /RUNNER_AS_ROOT/.test(r.detail ?? '')));
  t.false(rows.some((r) => r.name === 'isolation cd' && /RUNNER_AS_ROOT/.test(r.detail ?? '')));

  await until(() => online(emu, 'cd').length === 1, 30_000, 'the other pool online');
  await until(async () => (await httpStatus(fx)).pools.find((p) => p.name === 'rooty')?.errorCode === 'RUNNER_AS_ROOT', 30_000, 'rooty refused');
  const rooty = (await httpStatus(fx)).pools.find((p) => p.name === 'rooty')!;
  t.false(rooty.healthy);
  t.regex(rooty.error ?? '', /RUNNER_ALLOW_RUNASROOT/);
  t.is(attempts(fx, 'rooty'), 0, 'no runner started');
  t.is(requestCount(emu, 'generate-jitconfig'), 1, 'no JIT config asked for the refused pool');

  await fs.writeFile(fx.configPath, emulatorConfigYaml(emu, fx.config.host.dataDir, pools('1')));
  fx.daemon.reload(await loadConfig(fx.configPath, {}));
  await until(() => online(emu, 'rooty').length === 1, 60_000, 'rooty online once its env allows root');
});
