import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { startEmulator } from '../emulator/index.js';
import { loadConfig } from '../../src/config/load.js';
import { startDaemon } from '../../src/daemon/start.js';
import { emulatorConfigYaml, poolYaml, until } from '../helpers/daemon.js';
import { httpStatus, online, stopAndKillRunners } from './lifecycle-kit.js';

const run = promisify(execFile);

test('disk floor on a small tmpfs data dir: the pool stops starting runners, says why (status, metrics, logs), and resumes', async (t) => {
  if (process.getuid?.() !== 0) {
    t.fail('mounting a tmpfs needs root (CI runs as root)');
    return;
  }
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rf-cap-'));
  const data = path.join(dir, 'data');
  await fs.mkdir(data);
  await run('mount', ['-t', 'tmpfs', '-o', 'size=64m,mode=0700', 'tmpfs', data]);
  t.teardown(async () => {
    await run('umount', ['-l', data]).catch(() => undefined);
    await fs.rm(dir, { recursive: true, force: true });
  });
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const lines: string[] = [];
  const { pino } = await import('pino');
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
  // host.capacity goes under host:, which the helper's YAML writes; the floor is 32 MiB of the 64 MiB tmpfs.
  const yaml = emulatorConfigYaml(emu, data, poolYaml({ name: 'cd', size: 1 })).replace(
    `  dataDir: ${data}\n`,
    `  dataDir: ${data}\n  capacity: { minFreeDisk: 32m, minFreeMemory: 0 }\n`,
  );
  const configPath = path.join(dir, 'config.yaml');
  await fs.writeFile(configPath, yaml);
  const config = await loadConfig(configPath, {});
  const daemon = await startDaemon({ config, logger, githubListIntervalMs: 1000 });
  const fx = { dir, configPath, config, daemon, stop: (mode?: 'drain' | 'keep') => daemon.shutdown(mode) };
  t.teardown(() => stopAndKillRunners(fx));
  await until(() => online(emu).length === 1, 30_000, 'a runner online');
  const first = online(emu)[0]!.name;

  // Fill the data dir's disk to below the floor.
  const free = async () => (await fs.statfs(data)).bavail * (await fs.statfs(data)).bsize;
  await fs.writeFile(path.join(data, 'filler'), Buffer.alloc(Math.max(0, (await free()) - 8 * 1024 * 1024)));

  // The running (idle) runner is left alone until it ends; its replacement does not start.
  await until(async () => (await httpStatus(fx)).pools[0]?.errorCode === 'HOST_CAPACITY', 30_000, 'HOST_CAPACITY in status');
  t.deepEqual(online(emu).map((r) => r.name), [first], 'the idle runner is untouched');
  t.is(emu.deleteRunner(online(emu)[0]!.id), 'deleted');
  await until(() => fx.daemon.store.runners.get(first)?.state === 'gone', 30_000, 'the first runner reaped');
  const st = (await httpStatus(fx)).pools[0]!;
  t.is(st.errorCode, 'HOST_CAPACITY');
  t.regex(st.error ?? '', /minFreeDisk/);
  t.is(st.actual, 0);
  const metrics = await (await fetch(`http://127.0.0.1:${fx.daemon.apiPort}/metrics`)).text();
  t.regex(metrics, /^runner_fleet_pool_capacity_blocked\{pool="cd"\} 1$/m);
  t.regex(metrics, new RegExp(`^runner_fleet_host_floor_bytes\\{resource="disk",path="${data}"\\} ${32 * 1024 * 1024}$`, 'm'));
  t.true(lines.some((l) => /HOST_CAPACITY/.test(l) && /minFreeDisk/.test(l)), 'the log says why');
  // Still nothing after a few passes.
  await new Promise((r) => setTimeout(r, 3000));
  t.is(online(emu).length, 0);
  t.is(fx.daemon.store.runners.list({ pool: 'cd' }).filter((r) => r.state !== 'failed').length, 0);

  // Space comes back: the pool starts again and the error clears.
  await fs.rm(path.join(data, 'filler'));
  await until(() => online(emu).length === 1, 30_000, 'a runner online again');
  await until(async () => (await httpStatus(fx)).pools[0]?.errorCode === undefined, 30_000, 'HOST_CAPACITY cleared');
  t.regex(await (await fetch(`http://127.0.0.1:${fx.daemon.apiPort}/metrics`)).text(), /^runner_fleet_pool_capacity_blocked\{pool="cd"\} 0$/m);
});
