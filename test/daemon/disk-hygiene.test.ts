import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { loadConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { startDaemon } from '../../src/daemon/start.js';
import { startEmulator } from '../emulator/index.js';
import { emulatorConfigYaml, poolYaml, until } from '../helpers/daemon.js';
import { JOB_LABELS, online, pidRecords, stopAndKillRunners } from './lifecycle-kit.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;

async function tmpfsDataDir(t: import('ava').ExecutionContext, sizeMiB: number): Promise<{ dir: string; data: string } | undefined> {
  if (process.getuid?.() !== 0) {
    t.fail('mounting a tmpfs needs root (CI runs as root)');
    return undefined;
  }
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rf-hyg-'));
  const data = path.join(dir, 'data');
  await fs.mkdir(data);
  await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=0700`, 'tmpfs', data]);
  t.teardown(async () => {
    await run('umount', ['-l', data]).catch(() => undefined);
    await fs.rm(dir, { recursive: true, force: true });
  });
  return { dir, data };
}

async function daemonOn(dir: string, data: string, yaml: string) {
  const configPath = path.join(dir, 'config.yaml');
  await fs.writeFile(configPath, yaml);
  const config = await loadConfig(configPath, {});
  const daemon = await startDaemon({ config, logger: silentLogger(), githubListIntervalMs: 1000 });
  return { dir, configPath, config, daemon, stop: (mode?: 'drain' | 'keep') => daemon.shutdown(mode) };
}

test('disk near its floor: an idle persistent runner\'s own _work is pruned and reported; an ephemeral runner leaves nothing', async (t) => {
  const tmp = await tmpfsDataDir(t, 96);
  if (!tmp) return;
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const pools = poolYaml({ name: 'cd', size: 1, ephemeral: false }) + poolYaml({ name: 'eph', size: 1, labels: ['eph'] });
  // Floor 48 MiB: with 40 MiB of old checkouts the 96 MiB disk is within 25 % of it (not before).
  const yaml = emulatorConfigYaml(emu, tmp.data, pools).replace(
    `  dataDir: ${tmp.data}\n`,
    `  dataDir: ${tmp.data}\n  capacity: { minFreeDisk: 48m, minFreeMemory: 0 }\n`,
  );
  const fx = await daemonOn(tmp.dir, tmp.data, yaml);
  t.teardown(() => stopAndKillRunners(fx));
  await until(() => online(emu, 'cd').length === 1 && online(emu, 'eph').length === 1, 30_000, 'both pools online');
  const persistent = online(emu, 'cd')[0]!.name;
  const root = path.join(tmp.data, 'runners', persistent);

  // Ephemeral: after its job, root, pid file and log record are gone with the runner.
  const eph = online(emu, 'eph')[0]!.name;
  await emu.waitForJob(emu.queueJob({ labels: ['self-hosted', 'linux', 'eph'], script: 'echo hi > "$PWD/left-behind"' }), 30_000);
  await until(() => fx.daemon.store.runners.get(eph)?.state === 'gone', 30_000, 'the ephemeral runner gone');
  await t.throwsAsync(fs.stat(path.join(tmp.data, 'runners', eph)), { code: 'ENOENT' });
  t.false((await pidRecords(tmp.data)).some((r) => r.name === eph), 'no pid record left');

  // Old checkouts in the persistent runner's _work, and a file outside it that must stay.
  await fs.mkdir(path.join(root, '_work', 'app', 'app'), { recursive: true });
  await fs.writeFile(path.join(root, '_work', 'app', 'app', 'checkout.bin'), Buffer.alloc(40 * MiB, 1));
  await fs.writeFile(path.join(tmp.data, 'not-a-runner.bin'), Buffer.alloc(MiB, 1));
  await until(async () => !(await fs.stat(path.join(root, '_work', 'app')).then(() => true, () => false)), 30_000, '_work pruned');
  t.true((await fs.stat(path.join(root, '.runner'))).isFile(), 'the runner itself is untouched');
  t.true((await fs.stat(path.join(tmp.data, 'not-a-runner.bin'))).isFile());
  t.is(online(emu, 'cd')[0]?.name, persistent, 'the persistent runner keeps running');
  // _work is renamed aside first, then measured and removed: the figure follows.
  const freed = await until(async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${fx.daemon.apiPort}/metrics`)).text();
    return Number(/^runner_fleet_disk_freed_bytes_total\{pool="cd",what="work_dir"\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
  }, 30_000, 'the freed bytes in /metrics');
  t.true(freed >= 40 * MiB, `freed ${freed}`);
  // Still serves jobs afterwards (a fresh _work).
  const job = await emu.waitForJob(emu.queueJob({ labels: JOB_LABELS, script: 'echo again' }), 30_000);
  t.is(job.conclusion, 'success');
});
