import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import type { Emulator } from '../emulator/types.js';
import { poolYaml, until } from '../helpers/daemon.js';
import { cli, configYaml, daemonDirs, freePort, healthz, json, spawnDaemon, tmp, write } from './kit.js';

interface Status {
  source: string;
  daemon: { running: boolean; url: string };
  draining?: boolean;
  pools: { name: string; healthy: boolean | null; draining?: boolean; actual: number; runners: { name: string }[] }[];
}

const online = (emu: Emulator, pool: string) => emu.runners().filter((r) => new RegExp(`^h1-${pool}-[a-z0-9]{6,}$`).test(r.name) && r.status === 'online');
const pool = (s: Status, name: string) => s.pools.find((p) => p.name === name)!;

async function reconcilePasses(port: number): Promise<number> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
  return Number(/^runner_fleet_reconcile_duration_seconds_count\s+(\d+)/m.exec(text)?.[1] ?? 0);
}

function config(emu: Emulator, dataDir: string, port: number): string {
  return configYaml({
    dataDir, apiUrl: emu.apiUrl, url: emu.url, listen: `127.0.0.1:${port}`,
    extra: 'reconcile: { interval: 1s }\nshutdown: { mode: drain, drainTimeout: 30s }',
    pool: poolYaml({ name: 'cd', size: 1 }) + poolYaml({ name: 'web', size: 1 }),
  });
}

test('status with the daemon down and no database: not running, health unknown, source none, exit 1', async (t) => {
  const dir = await tmp(t);
  const cfg = write(dir, 'config.yaml', configYaml({ dataDir: path.join(dir, 'data'), apiUrl: 'https://api.github.invalid', listen: `127.0.0.1:${await freePort()}` }));
  const r = await cli(['status', '--json', '--timeout', '30s', '-c', cfg]);
  t.is(r.code, 1, r.stderr);
  const s = json<Status>(t, r);
  t.is(s.source, 'none');
  t.false(s.daemon.running);
  t.is(pool(s, 'cd').healthy, null);
  const text = await cli(['status', '-c', cfg]);
  t.is(text.code, 1);
  t.regex(text.stdout, /NOT RUNNING/);
  t.regex(text.stdout, /unknown/);
  t.false(fs.existsSync(path.join(dir, 'data')), 'status creates nothing');
});

test('drain --pool drains that pool only, survives SIGHUP, undrain lifts it; a second daemon is refused; deregister --json; status after stop is not healthy', async (t) => {
  t.timeout(5 * 60_000);
  const { emu, dir, dataDir, port } = await daemonDirs(t);
  const cfg = write(dir, 'config.yaml', config(emu, dataDir, port));
  const d = spawnDaemon(t, cfg);
  await until(async () => {
    if (d.child.exitCode !== null) throw new Error(`daemon exited ${d.child.exitCode}:\n${d.logs()}`);
    return (await healthz(port)) === 200 && online(emu, 'cd').length === 1 && online(emu, 'web').length === 1;
  }, 60_000, 'both pools online');

  // A second daemon on the same data dir exits 1 naming the first one's pid.
  const other = write(dir, 'other.yaml', config(emu, dataDir, await freePort()));
  const second = await cli(['daemon', '-c', other]);
  t.is(second.code, 1);
  t.true(`${second.stdout}${second.stderr}`.includes(`pid ${d.child.pid}`), second.stdout + second.stderr);

  const drain = await cli(['drain', '--pool', 'cd', '--timeout', '1m', '-c', cfg]);
  t.is(drain.code, 0, drain.stderr);
  let s = json<Status>(t, await cli(['status', '--json', '--timeout', '30s', '-c', cfg]));
  t.is(s.source, 'daemon', d.logs().slice(-3000));
  t.true(pool(s, 'cd').draining);
  t.false(pool(s, 'web').draining);
  t.false(s.draining, 'the host is not draining: only one pool is');
  t.is(online(emu, 'cd').length, 0);
  t.is(online(emu, 'web').length, 1);

  // SIGHUP: the drain stays (several reconcile passes later, still no cd runner).
  d.child.kill('SIGHUP');
  await until(() => /config reloaded/.test(d.logs()), 30_000, 'reload');
  const passes = await reconcilePasses(port);
  await until(async () => (await reconcilePasses(port)) >= passes + 3, 30_000, 'reconcile passes after the reload');
  s = json<Status>(t, await cli(['status', '--json', '--timeout', '30s', '-c', cfg]));
  t.true(pool(s, 'cd').draining);
  t.is(pool(s, 'cd').actual, 0);

  const undrain = await cli(['undrain', '--pool', 'cd', '-c', cfg]);
  t.is(undrain.code, 0, undrain.stderr);
  await until(() => online(emu, 'cd').length === 1, 60_000, 'cd runner back after undrain');
  t.false(pool(json<Status>(t, await cli(['status', '--json', '--timeout', '30s', '-c', cfg])), 'cd').draining);

  t.is((await cli(['drain', '--pool', 'nope', '-c', cfg])).code, 2);
  t.is((await cli(['drain', '--timeout', 'later', '-c', cfg])).code, 2);

  // deregister --json lists what it removed.
  const names = [...online(emu, 'cd'), ...online(emu, 'web')].map((r) => r.name).sort();
  const dereg = await cli(['deregister', '--all', '--json', '--timeout', '1m', '-c', cfg]);
  t.is(dereg.code, 0, dereg.stderr);
  const removed = json<{ removed: { name: string }[]; remaining: string[] }>(t, dereg);
  t.deepEqual(removed.removed.map((r) => r.name).sort(), names);
  t.deepEqual(removed.remaining, []);

  d.child.kill('SIGTERM');
  t.is(await d.exited, 0);
  const down = await cli(['status', '--json', '--timeout', '30s', '-c', cfg]);
  t.is(down.code, 0, 'status falls back to the state database (contract §3)');
  const fromDb = json<Status>(t, down);
  t.is(fromDb.source, 'database');
  t.false(fromDb.daemon.running);
  t.true(fromDb.pools.every((p) => p.healthy === null));
  const text = await cli(['status', '-c', cfg]);
  t.is(text.code, 0);
  t.regex(text.stdout, /NOT RUNNING/);
  t.notRegex(text.stdout, /\byes\s*$/m, 'no pool reads HEALTHY yes');
});
