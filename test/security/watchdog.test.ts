/**
 * Hostile-job suite, a hung daemon (issue 10 item 4): the daemon pings systemd's watchdog
 * (WATCHDOG=1) from its event loop only while reconcile passes finish, so systemd restarts a
 * daemon a job managed to stall. The pings go through a real unix datagram socket here.
 */
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ManualClock } from '../../src/clock.js';
import { startWatchdog, watchdogPeriodMs } from '../../src/daemon/watchdog.js';
import { silentLogger } from '../../src/log.js';
import { startEmulator } from '../emulator/index.js';
import { poolYaml, until } from '../helpers/daemon.js';
import { killRunners } from '../daemon/lifecycle-kit.js';
import { BIN, freePort, ROOT } from '../cli/kit.js';


test('watchdog: pings while passes finish, stops when the reconciler stalls, resumes after; off without WATCHDOG_USEC', async (t) => {
  t.is(watchdogPeriodMs({}), null);
  t.is(watchdogPeriodMs({ WATCHDOG_USEC: '60000000' }), 30_000);
  t.is(watchdogPeriodMs({ WATCHDOG_USEC: '60000000', WATCHDOG_PID: String(process.pid + 1) }), null, 'meant for another process');
  t.is(startWatchdog({ env: {}, notify: async () => true, lastPass: () => null, stallMs: 1, clock: new ManualClock(), logger: silentLogger() }), null);

  const clock = new ManualClock();
  const sent: string[] = [];
  let last: number | null = null;
  const wd = startWatchdog({
    env: { WATCHDOG_USEC: '60000000', WATCHDOG_PID: String(process.pid) },
    notify: async (m) => (sent.push(m), true),
    lastPass: () => last,
    stallMs: 60_000, clock, logger: silentLogger(),
  })!;
  t.teardown(() => wd.stop());
  t.true(await wd.tick(), 'before the first pass, within the stall window');
  last = clock.now();
  clock.advance(30_000);
  t.true(await wd.tick());
  clock.advance(31_000);
  t.false(await wd.tick(), 'last pass 61 s ago: stuck');
  t.false(await wd.tick());
  last = clock.now();
  t.true(await wd.tick(), 'a pass finished again');
  t.deepEqual(sent, ['WATCHDOG=1', 'WATCHDOG=1', 'WATCHDOG=1']);
});

/** A unix datagram socket that records what arrives (Node cannot bind one; python3 can). */
async function fakeNotifySocket(t: { teardown(fn: () => unknown): void }, file: string): Promise<{ messages(): string[] }> {
  const py = `import socket,sys
s=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("bound",flush=True)
while True:
  d=s.recv(4096)
  print(d.decode().replace("\\n","|"),flush=True)
`;
  const child = spawn('python3', ['-c', py, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  await until(() => out.includes('bound'), 10_000, 'notify socket bound');
  return { messages: () => out.split('\n').filter((l) => l && l !== 'bound') };
}

test('runner-fleet daemon under a NOTIFY_SOCKET with WATCHDOG_USEC: READY=1, then WATCHDOG=1 from its loop; none while it is frozen', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rf-sec-wd-'));
  const sock = await fakeNotifySocket(t, path.join(dir, 'notify'));
  const dataDir = path.join(dir, 'data');
  const port = await freePort();
  const cfg = path.join(dir, 'config.yaml');
  await fs.writeFile(cfg, `host: { name: h1, dataDir: ${dataDir} }
github: { url: ${emu.url}, apiUrl: ${emu.apiUrl}, auth: { token: test-pat } }
api: { listen: 127.0.0.1:${port} }
reconcile: { interval: 1s }
shutdown: { mode: keep }
pools:
${poolYaml({ name: 'cd', size: 1 })}`);
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', BIN, 'daemon', '-c', cfg], {
    cwd: ROOT,
    env: { ...process.env, NOTIFY_SOCKET: path.join(dir, 'notify'), WATCHDOG_USEC: '1000000' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  t.teardown(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await killRunners(dataDir);
  });
  const pings = () => sock.messages().filter((m) => m === 'WATCHDOG=1').length;
  await until(() => sock.messages().includes('READY=1'), 30_000, 'READY=1');
  await until(() => pings() >= 3, 15_000, 'three watchdog pings');

  // Frozen (as by a blocking read): no pings at all; systemd would kill it after WatchdogSec.
  child.kill('SIGSTOP');
  await new Promise((r) => setTimeout(r, 300)); // a ping already on its way may land
  const frozen = pings();
  await new Promise((r) => setTimeout(r, 2_000));
  t.is(pings(), frozen, 'no ping while the loop is frozen');
  child.kill('SIGCONT');
  await until(() => pings() > frozen, 15_000, 'pings again once the loop turns');
  child.kill('SIGTERM');
});
