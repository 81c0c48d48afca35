import test, { type ExecutionContext } from 'ava';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createProcessBackend } from '../../src/backends/process/index.js';
import { pidFilePath, type PidRecord } from '../../src/backends/process/pidfile.js';
import { readProc } from '../../src/backends/process/procfs.js';
import type { Backend, RunnerExit, RunnerSpec } from '../../src/backends/types.js';
import { silentLogger } from '../../src/log.js';
import { until } from '../helpers/poll.js';
import { tempDir } from '../helpers/temp.js';

// The process backend keeps its pid records in memory (records.ts): the files are read at
// start and when a name appears, not on every list(). These pin down that list() stays the truth.

const HOST = 'build-01';

async function setup(t: ExecutionContext) {
  const dataDir = await tempDir(t, 'rf-procrec-');
  const backend = createProcessBackend({ host: HOST, dataDir, logger: silentLogger(), pollMs: 50 });
  return { dataDir, backend };
}

async function spec(dataDir: string, name: string, script: string): Promise<RunnerSpec> {
  const root = path.join(dataDir, 'runners', name);
  await fs.mkdir(root, { recursive: true });
  return {
    name, pool: 'cd', host: HOST, root, command: ['/bin/sh', '-c', script], env: { PATH: '/usr/bin:/bin' },
    secretEnv: {}, mounts: [], ephemeral: true, network: { dns: [], extraHosts: {} },
  };
}

const LOOP = 'while [ ! -f stop ]; do sleep 0.05; done; exit 6';

function alive(pid: number): boolean {
  const p = readProc(pid);
  return !!p && p.state !== 'Z';
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

async function states(b: Backend): Promise<[string, string, number | null | undefined][]> {
  return (await b.list()).map((r) => [r.name, r.state, r.exitCode]);
}

test('a pid file removed behind the backend\'s back drops its runner from list(), as before', async (t) => {
  const { dataDir, backend } = await setup(t);
  const a = await spec(dataDir, `${HOST}-cd-recrm1`, LOOP);
  const b = await spec(dataDir, `${HOST}-cd-recrm2`, LOOP);
  const refA = await backend.create(a);
  await backend.create(b);
  t.teardown(() => killGroup(Number(refA.ref)));
  t.teardown(() => backend.destroy(b.name, { graceMs: 100 }));
  t.deepEqual(await states(backend), [[a.name, 'running', undefined], [b.name, 'running', undefined]]);
  await fs.rm(pidFilePath(dataDir, a.name));
  t.deepEqual(await states(backend), [[b.name, 'running', undefined]]);
});

test('a pid file written behind the backend\'s back after it started listing is picked up', async (t) => {
  const { dataDir, backend } = await setup(t);
  t.deepEqual(await backend.list(), []);
  const first = await spec(dataDir, `${HOST}-cd-recnw1`, LOOP);
  const ref = await backend.create(first);
  t.teardown(() => killGroup(Number(ref.ref)));
  const rec = JSON.parse(await fs.readFile(pidFilePath(dataDir, first.name), 'utf8')) as PidRecord;
  // Another record of the same (live) shim under a second name: as a crash recovery would write it.
  const copy: PidRecord = { ...rec, name: `${HOST}-cd-recnw2` };
  await fs.writeFile(pidFilePath(dataDir, copy.name), JSON.stringify(copy));
  t.deepEqual(await states(backend), [[first.name, 'running', undefined], [copy.name, 'running', undefined]]);
});

test('a pid file a job rewrites does not change what list() says about a runner the daemon started', async (t) => {
  const { dataDir, backend } = await setup(t);
  const s = await spec(dataDir, `${HOST}-cd-recrw1`, LOOP);
  const ref = await backend.create(s);
  t.teardown(() => backend.destroy(s.name, { graceMs: 100 }));
  t.deepEqual(await states(backend), [[s.name, 'running', undefined]]);
  // Jobs run as the daemon's user can write the data dir: garbage, or a FIFO, in place of the record.
  await fs.writeFile(pidFilePath(dataDir, s.name), 'not json');
  t.deepEqual(await states(backend), [[s.name, 'running', undefined]], 'the record the daemon wrote is the one it keeps');
  await fs.writeFile(path.join(s.root, 'stop'), '');
  await until(async () => ((await backend.list())[0]?.state === 'exited' ? true : undefined));
  t.deepEqual(await states(backend), [[s.name, 'exited', 6]]);
  t.false(alive(Number(ref.ref)));
});

test('a runner adopted from a previous daemon: its exit shows in list() without watch()', async (t) => {
  const { dataDir, backend: first } = await setup(t);
  const s = await spec(dataDir, `${HOST}-cd-recad1`, LOOP);
  const ref = await first.create(s);
  await first.close!();
  const second = createProcessBackend({ host: HOST, dataDir, logger: silentLogger(), pollMs: 50 });
  t.teardown(() => second.destroy(s.name, { graceMs: 100 }));
  t.deepEqual(await states(second), [[s.name, 'running', undefined]]);
  await fs.writeFile(path.join(s.root, 'stop'), '');
  await until(() => (alive(Number(ref.ref)) ? undefined : true));
  // Not our child (no exit event), no poll running: list() itself looks at /proc.
  t.deepEqual(await states(second), [[s.name, 'exited', 6]]);
  await second.destroy(s.name, { graceMs: 100 });
  t.deepEqual(await second.list(), []);
  t.deepEqual(await fs.readdir(path.join(dataDir, 'process')).then((f) => f.filter((x) => x.endsWith('.json'))), []);
});

test('an adopted runner whose pid file a job rewrote still reports its exit through watch()', async (t) => {
  const { dataDir, backend: first } = await setup(t);
  const s = await spec(dataDir, `${HOST}-cd-recaw1`, LOOP);
  await first.create(s);
  await first.close!();
  const second = createProcessBackend({ host: HOST, dataDir, logger: silentLogger(), pollMs: 50 });
  t.teardown(() => second.destroy(s.name, { graceMs: 100 }));
  const exits: RunnerExit[] = [];
  t.teardown(second.watch!((e) => exits.push(e)));
  t.deepEqual(await states(second), [[s.name, 'running', undefined]]);
  await fs.writeFile(pidFilePath(dataDir, s.name), 'not json');
  await fs.writeFile(path.join(s.root, 'stop'), '');
  const e = await until(() => exits.find((x) => x.name === s.name));
  t.is(e.exitCode, 6);
});

test('a runner killed behind the backend\'s back (SIGKILL) is exited in list(), without watch()', async (t) => {
  const { dataDir, backend } = await setup(t);
  const s = await spec(dataDir, `${HOST}-cd-reckl1`, LOOP);
  const ref = await backend.create(s);
  t.teardown(() => backend.destroy(s.name, { graceMs: 100 }));
  killGroup(Number(ref.ref));
  const seen = await until(async () => {
    const [r] = await backend.list();
    return r?.state === 'exited' ? r : undefined;
  });
  t.is(seen.exitCode, null);
  t.is(seen.signal, 'SIGKILL');
});
