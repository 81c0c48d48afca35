import { existsSync } from 'node:fs';
import test, { type ExecutionContext } from 'ava';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import type { StatusReport } from '../../src/api/types.js';
import { openStore } from '../../src/store/index.js';
import { cliInProcess as cli, sampleStatus, startApi } from './helpers.js';
import { tempDir } from '../helpers/temp.js';

async function config(t: ExecutionContext, port: number, extra = '', dir?: string) {
  dir ??= await tempDir(t, 'rf-cli-api-');
  const file = path.join(dir, 'config.yaml');
  await writeFile(file, `host: { name: build-01, dataDir: ${dir}/data }
github: { auth: { token: x } }
api:
  listen: 127.0.0.1:${port}
${extra}pools:
  - name: cd
    scope: { org: acme }
    size: 2
    backend: process
`);
  return { file, dataDir: `${dir}/data` };
}

/** A data dir with the daemon's control socket in it (what the CLI uses for control calls). */
async function socketDir(t: ExecutionContext): Promise<{ dir: string; socketPath: string }> {
  const dir = await tempDir(t, 'rf-cli-api-');
  await mkdir(path.join(dir, 'data'), { mode: 0o700 });
  return { dir, socketPath: path.join(dir, 'data', 'control.sock') };
}

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

test('status: reads the daemon API (text and --json) with the bearer token', async (t) => {
  const s = await startApi({ token: 'api-tok' });
  t.teardown(() => s.api.close());
  const { file } = await config(t, s.port, '  token: api-tok\n');
  const text = await cli(['status', '-c', file]);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /build-01-cd-abc123/);
  t.regex(text.stdout, /daemon running at/);
  const json = await cli(['status', '--json', '-c', file]);
  t.is(json.code, 0, json.stderr);
  t.deepEqual(JSON.parse(json.stdout), { ...sampleStatus, source: 'daemon', daemon: { running: true, url: `http://127.0.0.1:${s.port}` } });
});

test('status: a wrong token is a configuration error (exit 2)', async (t) => {
  const s = await startApi({ token: 'api-tok' });
  t.teardown(() => s.api.close());
  const { file } = await config(t, s.port, '  token: wrong\n');
  t.is((await cli(['status', '-c', file])).code, 2);
});

test('status: daemon down → it falls back to the state database as last recorded (exit 0, contract §3: 0/1/2 only), health unknown', async (t) => {
  const { file, dataDir } = await config(t, await closedPort());
  const store = openStore(dataDir);
  store.runners.insert({
    name: 'build-01-cd-zzz999', pool: 'cd', backend: 'process', state: 'busy', ephemeral: true, version: '2.330.0',
    githubId: 9, labels: ['self-hosted'], busy: true, ranJob: true, jobName: 'deploy', createdAt: 1, startedAt: 2,
    lastExitCode: null, lastError: null, reason: null,
  });
  store.close();
  const r = await cli(['status', '--json', '-c', file]);
  t.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as StatusReport & { source: string; daemon: { running: boolean } };
  t.is(report.source, 'database');
  t.false(report.daemon.running);
  t.is(report.pools[0]?.healthy, null);
  t.is(report.pools[0]?.desired, 2);
  t.is(report.pools[0]?.actual, 1);
  t.like(report.pools[0]?.runners[0], { name: 'build-01-cd-zzz999', busy: true, githubId: 9 });
  const text = await cli(['status', '-c', file]);
  t.is(text.code, 0);
  t.regex(text.stdout, /NOT RUNNING/);
  t.regex(text.stdout, /state database/);
});

test('status: daemon down and no database → nothing to fall back to: exit 1, source none', async (t) => {
  const { file } = await config(t, await closedPort());
  const r = await cli(['status', '--json', '-c', file]);
  t.is(r.code, 1);
  t.is((JSON.parse(r.stdout) as { source: string }).source, 'none');
});

test('drain: asks the daemon, waits until the pool is empty, exit 0', async (t) => {
  let report: StatusReport = structuredClone(sampleStatus);
  const calls: unknown[] = [];
  const sd = await socketDir(t);
  const s = await startApi({
    socketPath: sd.socketPath,
    status: () => report,
    drain: (req) => {
      calls.push(req);
      setTimeout(() => (report = { ...report, pools: report.pools.map((p) => ({ ...p, actual: 0, runners: [] })) }), 300);
    },
  });
  t.teardown(() => s.api.close());
  const { file } = await config(t, s.port, '', sd.dir);
  const r = await cli(['drain', '--pool', 'cd', '--timeout', '20', '-c', file]);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(calls, [{ pool: 'cd', timeoutMs: 20_000 }]);
  t.regex(r.stdout, /drained/);
});

test('drain: runners still there at the timeout → exit 1; unknown pool → exit 2; daemon down → exit 1', async (t) => {
  const sd = await socketDir(t);
  const s = await startApi({ socketPath: sd.socketPath, drain: () => undefined });
  t.teardown(() => s.api.close());
  const { file } = await config(t, s.port, '', sd.dir);
  t.is((await cli(['drain', '--timeout', '0.2', '-c', file])).code, 1);
  t.is((await cli(['drain', '--pool', 'nope', '-c', file])).code, 2);
  const down = await config(t, await closedPort());
  t.is((await cli(['drain', '-c', down.file])).code, 1);
});

test('deregister --all: calls the daemon, waits until no runner is left; without --all exit 2; daemon down and no database: nothing to do', async (t) => {
  let called = 0;
  let report: StatusReport = structuredClone(sampleStatus);
  const sd = await socketDir(t);
  const s = await startApi({
    socketPath: sd.socketPath,
    status: () => report,
    deregisterAll: () => {
      called++;
      setTimeout(() => (report = { ...report, pools: report.pools.map((p) => ({ ...p, actual: 0, runners: [] })) }), 300);
      return { removed: ['a', 'b'] };
    },
  });
  t.teardown(() => s.api.close());
  const { file } = await config(t, s.port, '', sd.dir);
  t.is((await cli(['deregister', '-c', file])).code, 2);
  const ok = await cli(['deregister', '--all', '--timeout', '20', '-c', file]);
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stdout, /deregistered 1 runner: build-01-cd-abc123/);
  t.is(called, 1);
  report = structuredClone(sampleStatus);
  const js = await cli(['deregister', '--all', '--json', '--timeout', '20s', '-c', file]);
  t.is(js.code, 0, js.stderr);
  t.like(JSON.parse(js.stdout), { ok: true, removed: [{ name: 'build-01-cd-abc123', pool: 'cd' }], remaining: [] });
  const down = await config(t, await closedPort());
  // Daemon down: straight from the state database (none here: nothing to remove, nothing created).
  const r = await cli(['deregister', '--all', '-c', down.file]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /daemon not running/);
  t.regex(r.stdout, /deregistered 0 runners/);
  t.false(existsSync(down.dataDir), 'no data dir or database created');
});
