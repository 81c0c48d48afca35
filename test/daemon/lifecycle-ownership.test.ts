import test from 'ava';
import { spawn } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { createApiClient } from '../../src/api/client.js';
import { startEmulator } from '../emulator/index.js';
import { poolYaml, startTestDaemon, until } from '../helpers/daemon.js';
import { alive, liveRows, online, ours, stopAndKillRunners } from './lifecycle-kit.js';
import { tempDir } from '../helpers/temp.js';

/** A process this daemon did not start, with a pid record that identifies it exactly (start time + argv). */
async function foreignProcess(t: { teardown(fn: () => void): void }, dataDir: string, rec: { name: string; pool: string; host: string }) {
  const argv = ['/bin/sleep', '300'];
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: 'ignore' });
  child.unref();
  const pid = child.pid!;
  t.teardown(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
  const dir = path.join(dataDir, 'process');
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const root = await tempDir(t, 'rf-foreign-');
  const file = path.join(dir, `${rec.name}.json`);
  await fs.writeFile(file, JSON.stringify({
    ...rec, pid, startTime, cmdline: argv, startedAt: Date.now(), root,
    logFile: path.join(root, 'log'), exitFile: path.join(root, 'exit'),
  }));
  return { pid, file };
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(() => true, () => false);
}

test('foreign registrations, another host\'s pid files and processes, and unowned names survive a full deregister', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const dir = await tempDir(t, 'rf-own-');
  const dataDir = path.join(dir, 'data');
  // Set up before the daemon starts, as if they were there all along (shared data dir, other tools).
  const otherHost = await foreignProcess(t, dataDir, { name: 'h2-cd-abcdef12', pool: 'cd', host: 'h2' });
  const unowned = await foreignProcess(t, dataDir, { name: 'someone-else', pool: 'cd', host: 'h1' });
  const foreign = [
    emu.addForeignRunner('org:acme', 'someone-else', { status: 'offline' }),
    emu.addForeignRunner('org:acme', 'someone-busy', { status: 'online', busy: true }),
    emu.addForeignRunner('org:acme', 'h1-cd-big-abcdef12', { status: 'offline' }),
    emu.addForeignRunner('org:acme', 'h1-cd-big-online1', { status: 'online' }),
    emu.addForeignRunner('org:acme', 'h2-cd-abcdef12', { status: 'offline' }),
    emu.addForeignRunner('org:acme', 'H1-CD-ABCDEF12', { status: 'offline' }),
    emu.addForeignRunner('org:acme', 'h1-cd-abc', { status: 'offline' }),
  ];
  const ghost = emu.addForeignRunner('org:acme', 'h1-cd-gh0st123', { status: 'offline' });

  const fx = await startTestDaemon(t, emu, poolYaml({ name: 'cd', size: 2 }), { dir });
  t.teardown(() => stopAndKillRunners(fx));
  await until(() => online(emu).length === 2, 30_000, 'two runners of ours online');
  await until(() => !emu.runners().some((r) => r.id === ghost.id), 15_000, 'our ghost removed');
  const mine = online(emu).map((r) => r.name);
  t.deepEqual(liveRows(fx, 'cd').map((r) => r.name).sort(), [...mine].sort(), 'nothing foreign adopted into the pool');

  // `runner-fleet deregister --all` through the daemon's control socket.
  const client = createApiClient({ listen: { host: '127.0.0.1', port: fx.daemon.apiPort }, socketPath: path.join(fx.config.host.dataDir, 'control.sock') });
  t.like(await client.deregisterAll(), { ok: true });
  await until(() => fx.daemon.reconciler.liveCount() === 0, 30_000, 'every runner of ours gone');
  await fx.daemon.reconciler.settled();
  t.is(ours(emu.runners()).length, 0, 'our registrations removed');

  const left = new Set(emu.runners().map((r) => r.id));
  for (const f of foreign) t.true(left.has(f.id), `${f.name} kept`);
  for (const p of [otherHost, unowned]) {
    t.true(alive(p.pid), `foreign process ${p.pid} not signalled`);
    t.true(await exists(p.file), `pid file ${path.basename(p.file)} kept`);
  }
  await fx.stop('drain');
  t.true(alive(otherHost.pid) && alive(unowned.pid), 'a drain stop leaves them too');
  t.is(emu.runners().length, foreign.length);
});
