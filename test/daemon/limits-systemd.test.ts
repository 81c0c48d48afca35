/**
 * pool.limits on the systemd backend against a real systemd (PID 1 in a container): the unit
 * carries CPUQuota=/MemoryMax=/TasksMax= (systemctl show), and a job past MemoryMax is reported
 * as cause oom (Result=oom-kill on cgroup v2, the job hook's cgroup count on v1) before the runner is replaced.
 */
import test from 'ava';
import type { StatusReport } from '../../src/api/types.js';
import { startEmulator } from '../emulator/index.js';
import { until } from '../helpers/daemon.js';
import { sharedMountDir, startSystemdDaemon, systemdHostWithRunnerUser, systemdPoolYaml } from '../helpers/systemd-pool.js';

const SHARED = sharedMountDir('rf-limits-sd-');

const POOL = systemdPoolYaml({ size: 1, ephemeral: true, extra: '    limits: { cpus: 0.5, memory: 192m, pids: 300 }\n' });

test('systemd limits: visible in systemctl show; a job past MemoryMax → exit classified oom and the runner replaced', async (t) => {
  t.timeout(4 * 60_000);
  const sd = await systemdHostWithRunnerUser(t, SHARED);
  if (!sd) return;
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const host = 'lsd1';
  const fx = await startSystemdDaemon(t, emu, sd, SHARED, host, POOL);
  await emu.waitForRunners((rs) => rs.some((r) => r.name.startsWith(`${host}-cd-`) && r.status === 'online'), 60_000);
  const first = emu.runners().find((r) => r.name.startsWith(`${host}-cd-`))!.name;
  const unit = `runner-fleet-${first}.service`;
  const show = await sd.sh(`systemctl show -p CPUQuotaPerSecUSec -p MemoryMax -p TasksMax -p OOMPolicy ${unit}`);
  t.regex(show, /^CPUQuotaPerSecUSec=500ms$/m);
  t.regex(show, new RegExp(`^MemoryMax=${192 * 1024 * 1024}$`, 'm'));
  t.regex(show, /^TasksMax=300$/m);
  t.regex(show, /^OOMPolicy=stop$/m);

  const hog = 'head -c 1073741824 /dev/zero | tail > /dev/null';
  const job = await emu.waitForJob(emu.queueJob({ labels: ['self-hosted', 'cd-pipeline'], script: hog }), 90_000);
  t.not(job.conclusion, 'success', 'MemoryMax held: the job was killed');
  const base = `http://127.0.0.1:${fx.daemon.apiPort}`;
  const exit = await until(async () => {
    const s = (await (await fetch(`${base}/api/v1/status`)).json()) as StatusReport;
    return s.pools[0]?.lastExits?.find((e) => e.runner === first);
  }, 90_000, 'the exit in status');
  // systemd reports Result=oom-kill only on the unified hierarchy; on a cgroup v1 host the job
  // hook's count of OOM kills in the unit's memory cgroup (memory.oom_control) says it instead.
  t.is(exit.cause, 'oom', JSON.stringify(exit));
  await emu.waitForRunners((rs) => rs.some((r) => r.name.startsWith(`${host}-cd-`) && r.name !== first && r.status === 'online'), 90_000);
});
