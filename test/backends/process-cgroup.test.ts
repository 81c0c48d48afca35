import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { probeCgroups, RunnerCgroups, type CgroupHost } from '../../src/backends/process/cgroup.js';
import { processIsolation } from '../../src/backends/process/isolation.js';
import { processPlan, processPlanRows } from '../../src/backends/process/plan.js';
import { checkConfigText } from '../../src/config/load.js';
import type { PoolOf } from '../../src/config/types.js';
import type { DoctorContext } from '../../src/doctor/types.js';
import { tempDir } from '../helpers/temp.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;

/** A cgroup2 layout as the kernel shows it, in a plain directory: the daemon in /system.slice/rf.service. */
async function fakeV2(t: Parameters<typeof tempDir>[0], o: { controllers: string; subtree?: string; procs?: string } ): Promise<{ root: string; self: string; own: string }> {
  const dir = await tempDir(t, 'rf-cg2-');
  const root = path.join(dir, 'cgroup');
  const own = path.join(root, 'system.slice', 'rf.service');
  await fs.mkdir(own, { recursive: true });
  await fs.writeFile(path.join(root, 'cgroup.controllers'), 'cpuset cpu io memory hugetlb pids rdma misc\n');
  await fs.writeFile(path.join(own, 'cgroup.controllers'), `${o.controllers}\n`);
  await fs.writeFile(path.join(own, 'cgroup.subtree_control'), `${o.subtree ?? ''}\n`);
  await fs.writeFile(path.join(own, 'cgroup.procs'), o.procs ?? '');
  const self = path.join(dir, 'self-cgroup');
  await fs.writeFile(self, '0::/system.slice/rf.service\n');
  return { root, self, own };
}

const read = (f: string) => fs.readFile(f, 'utf8');

test('cgroup v2, delegated: the daemon moves into a leaf, passes memory/cpu/pids down, and the runner group gets memory.max, swap 0, oom.group 0, cpu.max, pids.max', async (t) => {
  const { root, self, own } = await fakeV2(t, { controllers: 'cpu memory pids', procs: '4242\n' });
  const found = probeCgroups(['memory', 'cpu', 'pids'], { root, self });
  if (!('host' in found)) return t.fail(found.why);
  t.like(found.host, { version: 2, own, parent: path.join(own, 'runner-fleet'), enable: ['memory', 'cpu', 'pids'] });
  // What the kernel creates with a group (the optional files are written only where they exist).
  const group = path.join(own, 'runner-fleet', 'h1-cd-abc123');
  await fs.mkdir(group, { recursive: true });
  for (const f of ['memory.swap.max', 'memory.oom.group', 'cgroup.procs']) await fs.writeFile(path.join(group, f), '');
  await fs.writeFile(path.join(own, 'runner-fleet', 'cgroup.controllers'), 'cpu memory pids\n');

  const cg = new RunnerCgroups(found.host);
  await cg.create('h1-cd-abc123', { memory: 64 * MiB, cpus: 1.5, pids: 300 });
  t.is(await read(path.join(own, 'runner-fleet-daemon', 'cgroup.procs')), '4242', 'the daemon left the cgroup it enables controllers in');
  t.is(await read(path.join(own, 'cgroup.subtree_control')), '+memory +cpu +pids');
  t.is(await read(path.join(own, 'runner-fleet', 'cgroup.subtree_control')), '+cpu +memory +pids');
  t.is(await read(path.join(group, 'memory.max')), String(64 * MiB));
  t.is(await read(path.join(group, 'memory.swap.max')), '0');
  t.is(await read(path.join(group, 'memory.oom.group')), '0', 'an OOM kills the job, not the whole group (the Listener stays)');
  t.is(await read(path.join(group, 'cpu.max')), '150000 100000');
  t.is(await read(path.join(group, 'pids.max')), '300');
  await cg.join('h1-cd-abc123', 777);
  t.is(await read(path.join(group, 'cgroup.procs')), '777');
  t.is(await cg.oomKills('h1-cd-abc123'), undefined, 'no memory.events yet');
  await fs.writeFile(path.join(group, 'memory.events'), 'low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n');
  t.is(await cg.oomKills('h1-cd-abc123'), 2);

  // The next probe runs in the daemon now in its leaf: same delegated cgroup, nothing to move again.
  await fs.writeFile(self, '0::/system.slice/rf.service/runner-fleet-daemon\n');
  await fs.writeFile(path.join(own, 'cgroup.subtree_control'), 'memory cpu pids\n');
  const again = probeCgroups(['memory', 'cpu', 'pids'], { root, self });
  t.like('host' in again ? again.host : again, { version: 2, own, parent: path.join(own, 'runner-fleet'), enable: [] });
});

test('cgroup v2, controllers already passed down: nothing is moved', async (t) => {
  const { root, self, own } = await fakeV2(t, { controllers: 'cpu memory pids', subtree: 'cpu memory pids', procs: '' });
  const found = probeCgroups(['memory'], { root, self });
  if (!('host' in found)) return t.fail(found.why);
  t.deepEqual((found.host as Extract<CgroupHost, { version: 2 }>).enable, []);
  await new RunnerCgroups(found.host).create('h1-cd-abc124', { memory: 64 * MiB });
  await t.throwsAsync(read(path.join(own, 'runner-fleet-daemon', 'cgroup.procs')));
  t.is(await read(path.join(own, 'runner-fleet', 'h1-cd-abc124', 'memory.max')), String(64 * MiB));
});

test('cgroup v2 without delegation (the shipped unit): validation names pools[N].limits and says what the unit needs', async (t) => {
  const { root, self } = await fakeV2(t, { controllers: 'cpu' });
  const found = probeCgroups(['memory', 'pids'], { root, self });
  t.true('why' in found);
  const text = 'github: { auth: { token: t } }\npools:\n  - name: cd\n    scope: { org: acme }\n    size: 1\n    limits: { memory: 64m, pids: 100 }\n';
  const { issues } = checkConfigText(text, '/etc/runner-fleet/config.yaml', {}, { hostname: 'h1', host: { cgroups: { root, self } } });
  const hit = issues.find((i) => i.path === 'pools[0].limits');
  t.truthy(hit, JSON.stringify(issues));
  t.is(hit?.line, 6);
  t.regex(hit?.message ?? '', /memory, pids/);
  t.regex(hit?.message ?? '', /Delegate=yes/);
  // cpu alone is delegated here: a pool limiting only cpus is valid.
  const cpuOnly = checkConfigText(text.replace('{ memory: 64m, pids: 100 }', '{ cpus: 0.5 }'), '/x.yaml', {}, { hostname: 'h1', host: { cgroups: { root, self } } });
  t.deepEqual(cpuOnly.issues, []);
});

test('cgroup read-only (ProtectControlGroups=yes): a validation error that says so', async (t) => {
  if (process.getuid?.() !== 0) return t.fail('a read-only mount needs root (CI runs as root)');
  const { root, self } = await fakeV2(t, { controllers: 'cpu memory pids' });
  await run('mount', ['--bind', '-o', 'ro', root, root]).catch(async () => {
    await run('mount', ['--bind', root, root]);
    await run('mount', ['-o', 'remount,bind,ro', root]);
  });
  t.teardown(() => run('umount', [root]).catch(() => undefined));
  const found = probeCgroups(['memory'], { root, self });
  t.true('why' in found && /read-only/.test(found.why) && /ProtectControlGroups=no/.test(found.why), JSON.stringify(found));
});

test('cgroup v1 (this host\'s kind): runner-fleet/<runner> in each hierarchy with memory.limit_in_bytes, memsw, cfs quota/period and pids.max', async (t) => {
  const dir = await tempDir(t, 'rf-cg1-');
  const root = path.join(dir, 'cgroup');
  for (const h of ['memory', 'cpu,cpuacct', 'pids']) {
    await fs.mkdir(path.join(root, h, 'svc'), { recursive: true });
    await fs.writeFile(path.join(root, h, 'cgroup.procs'), '');
  }
  const self = path.join(dir, 'self-cgroup');
  await fs.writeFile(self, '9:pids:/svc\n4:memory:/svc\n2:cpu,cpuacct:/svc\n1:name=systemd:/svc\n0::/svc\n');
  const found = probeCgroups(['memory', 'cpu', 'pids'], { root, self });
  if (!('host' in found)) return t.fail(found.why);
  t.deepEqual(found.host, {
    version: 1,
    parents: { memory: path.join(root, 'memory/svc/runner-fleet'), cpu: path.join(root, 'cpu,cpuacct/svc/runner-fleet'), pids: path.join(root, 'pids/svc/runner-fleet') },
  });
  const cg = new RunnerCgroups(found.host);
  const mem = path.join(root, 'memory/svc/runner-fleet/h1-cd-v1v1v1');
  await fs.mkdir(mem, { recursive: true });
  await fs.writeFile(path.join(mem, 'memory.memsw.limit_in_bytes'), '');
  await cg.create('h1-cd-v1v1v1', { memory: 64 * MiB, cpus: 0.5, pids: 200 });
  t.is(await read(path.join(mem, 'memory.limit_in_bytes')), String(64 * MiB));
  t.is(await read(path.join(mem, 'memory.memsw.limit_in_bytes')), String(64 * MiB), 'no swap beyond the limit');
  t.is(await read(path.join(root, 'cpu,cpuacct/svc/runner-fleet/h1-cd-v1v1v1/cpu.cfs_period_us')), '100000');
  t.is(await read(path.join(root, 'cpu,cpuacct/svc/runner-fleet/h1-cd-v1v1v1/cpu.cfs_quota_us')), '50000');
  t.is(await read(path.join(root, 'pids/svc/runner-fleet/h1-cd-v1v1v1/pids.max')), '200');
  await fs.writeFile(path.join(mem, 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n');
  t.is(await cg.oomKills('h1-cd-v1v1v1'), 1);
  // A host without the pids hierarchy cannot limit pids: said, not skipped.
  await fs.writeFile(self, '4:memory:/svc\n');
  const noPids = probeCgroups(['pids'], { root, self });
  t.true('why' in noPids && /pids/.test(noPids.why));
});

test('plan and doctor say where a process pool\'s runners get their limits on this host, or why they cannot', (t) => {
  const pool = { name: 'cd', backend: 'process', limits: { memory: 64 * MiB, pids: 100 } } as unknown as PoolOf<'process'>;
  const { backend } = processPlan(pool, 'h1-cd-<suffix>');
  const rows = processPlanRows(backend);
  const row = rows.find(([k]) => k === 'limits')?.[1] ?? '';
  const found = probeCgroups(['memory', 'pids']);
  if ('host' in found) {
    t.regex(row, /memory 64 MiB, pids 100 in cgroup v[12] .*runner-fleet\/h1-cd-<suffix>/);
  } else {
    t.regex(row, /cannot be applied here/);
  }
  const checks = processIsolation(pool, { cfg: { host: { dataDir: '/var/lib/rf' }, source: '/etc/rf.yaml' } } as unknown as DoctorContext, 'isolation cd');
  const limits = checks.find((c) => /limits/.test(c.detail ?? ''));
  t.is(limits?.status, 'host' in found ? 'ok' : 'fail');
});
