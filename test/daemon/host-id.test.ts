import test from 'ava';
import type { StatusReport } from '../../src/api/types.js';
import { checkHostNames } from '../../src/doctor/hosts.js';
import { createGitHubClient } from '../../src/github/client.js';
import { silentLogger } from '../../src/log.js';
import { LABEL_HOST_ID } from '../../src/backends/docker/index.js';
import { startEmulator } from '../emulator/index.js';
import { poolYaml, startTestDaemon, until } from '../helpers/daemon.js';
import { parkedAfterRegistration } from './crash-kit.js';
import { httpStatus, online, stopAndKillRunners } from './lifecycle-kit.js';

test('two hosts, one name: a registration with another host\'s id is left alone and reported (status, doctor)', async (t) => {
  t.timeout(2 * 60_000);
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const pools = poolYaml({ name: 'cd', size: 1 });
  // Host A (a clone: same host name h1, its own data dir), parked right after a JIT registration:
  // its runner is registered and offline, exactly the seconds before a runner comes online.
  const { daemon: a, runner: theirs } = await parkedAfterRegistration(t, emu, pools);
  const reg = emu.runners().find((r) => r.name === theirs)!;
  t.is(reg.status, 'offline');
  t.true(reg.labels.some((l) => /^rf-host-[0-9a-f]{8}$/.test(l)), 'registered with its host id label');

  const b = await startTestDaemon(t, emu, pools);
  t.teardown(() => stopAndKillRunners(b));
  await until(() => online(emu).length === 1, 30_000, 'host B runner online');
  const mine = online(emu)[0]!;
  t.not(mine.name, theirs);
  const st = await until(async () => {
    const s = await httpStatus(b);
    return s.pools[0]?.foreign?.length ? s : null;
  }, 15_000, 'foreign registration in status');
  t.deepEqual(st.pools[0]!.foreign!.map((f) => f.name), [theirs]);
  t.regex(st.pools[0]!.foreign![0]!.message, /another host uses the name/);
  t.regex((st as StatusReport).hostId ?? '', /^[0-9a-f]{16}$/);
  t.true(mine.labels.includes(`rf-host-${st.hostId!.slice(0, 8)}`));
  // Several passes with GitHub re-read: ghost cleanup would have deleted it by now.
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 1100));
    await b.daemon.reconciler.trigger();
    await b.daemon.reconciler.settled();
  }
  t.true(emu.runners().some((r) => r.id === reg.id), 'host A\'s registration was left alone');

  const gh = createGitHubClient({ apiUrl: emu.apiUrl, auth: { kind: 'token', token: 'test-pat' }, logger: silentLogger() });
  const rows = await checkHostNames({ cfg: b.config, github: gh.service, store: b.daemon.store, now: Date.now, exec: async () => ({ code: 0, stdout: '', stderr: '' }) });
  t.true(rows.some((r) => r.status === 'warn' && r.detail.includes(`another host uses the name ${theirs}`)));
  await a.kill();
});

test('the host id is created once and kept: a restart on the same data dir carries the same id', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const pools = poolYaml({ name: 'cd', size: 1 });
  const a = await startTestDaemon(t, emu, pools);
  t.teardown(() => stopAndKillRunners(a));
  const first = (await httpStatus(a)).hostId;
  t.regex(first ?? '', /^[0-9a-f]{16}$/);
  await a.stop('drain');
  const b = await startTestDaemon(t, emu, pools, { dir: a.dir });
  t.teardown(() => stopAndKillRunners(b));
  t.is((await httpStatus(b)).hostId, first);
  t.is(LABEL_HOST_ID, 'io.runner-fleet.host-id');
});
