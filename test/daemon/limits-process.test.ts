import { existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { startEmulator } from '../emulator/index.js';
import { poolYaml, startTestDaemon, until } from '../helpers/daemon.js';
import { httpStatus, JOB_LABELS, online, ours, stopAndKillRunners } from './lifecycle-kit.js';

const MiB = 1024 * 1024;
// `tail` keeps a stream without newlines in memory: 1 GiB of zeros is far past the limit.
const HOG = 'head -c 1073741824 /dev/zero | tail > /dev/null';

/** This process's group in a v1 hierarchy (the in-process daemon makes runner groups under it). */
function v1Dir(controller: string): string | undefined {
  const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.split(':')[1]?.split(',').includes(controller));
  if (!line) return undefined;
  const [, ctrls, rel] = line.split(':') as [string, string, string];
  const mount = [`/sys/fs/cgroup/${ctrls}`, `/sys/fs/cgroup/${controller}`].find((d) => existsSync(path.join(d, 'cgroup.procs')));
  return mount && path.join(mount, rel);
}

test('process pool limits on this cgroup v1 host: the runner runs in runner-fleet/<runner> with the limits; a job past limits.memory → exit oom, runner replaced, group removed', async (t) => {
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    t.fail('this suite runs on a cgroup v1 host (v2 is covered by the fake-layout tests in test/backends/process-cgroup.test.ts)');
    return;
  }
  if (process.getuid?.() !== 0) {
    t.fail('making cgroups needs root here (CI runs as root)');
    return;
  }
  t.timeout(3 * 60_000);
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const pool = poolYaml({ name: 'cd', size: 1, extra: '    limits: { memory: 64m, cpus: 0.5, pids: 256 }\n' });
  const fx = await startTestDaemon(t, emu, pool, { capacity: { minFreeDisk: 0, minFreeMemory: 0 } });
  t.teardown(async () => {
    await stopAndKillRunners(fx);
    // Whatever a failed run left: empty groups of this test's runners.
    for (const d of [v1Dir('memory'), v1Dir('cpu'), v1Dir('pids')]) {
      for (const n of await fs.readdir(path.join(d!, 'runner-fleet')).catch(() => [] as string[])) {
        if (/^h1-cd-/.test(n) && fx.daemon.store.runners.get(n)) await fs.rmdir(path.join(d!, 'runner-fleet', n)).catch(() => undefined);
      }
    }
  });
  await until(() => online(emu).length === 1, 60_000, 'a runner online');
  const first = online(emu)[0]!.name;

  const mem = path.join(v1Dir('memory')!, 'runner-fleet', first);
  const cpu = path.join(v1Dir('cpu')!, 'runner-fleet', first);
  const pids = path.join(v1Dir('pids')!, 'runner-fleet', first);
  const file = (d: string, f: string) => readFileSync(path.join(d, f), 'utf8').trim();
  t.is(file(mem, 'memory.limit_in_bytes'), String(64 * MiB));
  t.is(file(cpu, 'cpu.cfs_quota_us'), '50000');
  t.is(file(cpu, 'cpu.cfs_period_us'), '100000');
  t.is(file(pids, 'pids.max'), '256');
  // The shim and the Listener below it are members, in every hierarchy.
  const members = file(mem, 'cgroup.procs').split('\n').filter(Boolean);
  t.true(members.length >= 2, `members: ${members.join(' ')}`);
  for (const pid of members) t.regex(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), new RegExp(`:pids:.*/runner-fleet/${first}$`, 'm'));

  const job = await emu.waitForJob(emu.queueJob({ labels: JOB_LABELS, script: HOG }), 60_000);
  t.not(job.conclusion, 'success', job.output);
  const exit = await until(async () => (await httpStatus(fx)).pools[0]?.lastExits?.find((e) => e.runner === first), 60_000, 'the exit in status');
  t.is(exit.cause, 'oom');
  await until(() => online(emu).some((r) => r.name !== first), 60_000, 'a replacement online');
  await until(() => !existsSync(mem) && !existsSync(cpu) && !existsSync(pids), 30_000, 'the first runner\'s groups removed');
  t.regex(await (await fetch(`http://127.0.0.1:${fx.daemon.apiPort}/metrics`)).text(), /^runner_fleet_runner_exits_total\{pool="cd",cause="oom"\} 1$/m);
  // A drain destroys the replacement: its groups go too.
  const second = online(emu).find((r) => r.name !== first)!.name;
  await fx.stop('drain');
  t.is(ours(emu.runners()).length, 0);
  for (const d of [v1Dir('memory'), v1Dir('cpu'), v1Dir('pids')]) t.false(existsSync(path.join(d!, 'runner-fleet', second)), `${d}/runner-fleet/${second}`);
});
