/**
 * Hostile-job suite, control plane (issue 10 item 3, CONTRACT §7): nothing that merely reaches
 * the TCP port (a job shares the host's loopback) can drain or deregister the fleet; the
 * operator's CLI does it through the 0600 unix socket in the data dir.
 */
import test from 'ava';
import { promises as fs } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startEmulator } from '../emulator/index.js';
import { cliInProcess as cli, startApi } from '../api/helpers.js';
import { poolYaml, startTestDaemon, until } from '../helpers/daemon.js';
import { JOB_LABELS, httpStatus, online, stopAndKillRunners } from '../daemon/lifecycle-kit.js';

const post = (base: string, route: string, token?: string) =>
  fetch(`${base}${route}`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) } });

test('TCP without api.token: drain and deregister-all answer 403 and change nothing; health, metrics and status stay open', async (t) => {
  const calls: string[] = [];
  const s = await startApi({ drain: () => void calls.push('drain'), deregisterAll: () => void calls.push('deregister') });
  t.teardown(() => s.api.close());
  t.is((await post(s.base, '/api/v1/drain')).status, 403);
  t.is((await post(s.base, '/api/v1/deregister-all')).status, 403);
  t.deepEqual(calls, []);
  t.is((await fetch(`${s.base}/healthz`)).status, 200);
  t.is((await fetch(`${s.base}/metrics`)).status, 200);
  t.is((await fetch(`${s.base}/api/v1/status`)).status, 200);
});

test('TCP with api.token: a control call with no or a wrong token is 403 (contract §7: "403 without one"), the right one passes', async (t) => {
  const calls: string[] = [];
  const s = await startApi({ token: 'operator-token', drain: () => void calls.push('drain'), deregisterAll: () => void calls.push('deregister') });
  t.teardown(() => s.api.close());
  t.is((await post(s.base, '/api/v1/drain')).status, 403);
  t.is((await post(s.base, '/api/v1/deregister-all', 'guess')).status, 403);
  t.is((await post(s.base, '/api/v1/undrain', 'guess')).status, 403);
  t.deepEqual(calls, []);
  t.is((await post(s.base, '/api/v1/drain', 'operator-token')).status, 202);
  t.deepEqual(calls, ['drain']);
  t.is((await fetch(`${s.base}/healthz`)).status, 200);
});

test('a job on the host loopback calling drain and deregister-all gets 403; the fleet runs on', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const fx = await startTestDaemon(t, emu, poolYaml({ name: 'cd', size: 1 }));
  t.teardown(() => stopAndKillRunners(fx));
  await until(() => online(emu).length === 1, 30_000, 'runner online');
  const base = `http://127.0.0.1:${fx.daemon.apiPort}`;
  const code = (route: string) => `curl -s -o /dev/null -w "${route}=%{http_code}\\n" -X POST -H 'content-type: application/json' -d '{}' ${base}${route}`;
  const job = await emu.waitForJob(emu.queueJob({ labels: JOB_LABELS, script: `${code('/api/v1/drain')}\n${code('/api/v1/deregister-all')}\n` }), 30_000);
  t.regex(job.output, /\/api\/v1\/drain=403/);
  t.regex(job.output, /\/api\/v1\/deregister-all=403/);

  const status = await httpStatus(fx);
  t.falsy(status.draining);
  t.false([...fx.daemon.reconciler.pools.values()].some((p) => p.draining));
  // The ephemeral runner that ran the job is replaced as usual: the pool was not drained.
  await until(() => online(emu).length === 1 && !online(emu).some((r) => r.name === job.runnerName), 30_000, 'replacement runner');
  t.false(fx.daemon.store.runners.list({ includeGone: true }).some((r) => r.reason === 'drain'));
});

test('the CLI drains through the control socket ({dataDir}/control.sock, 0600, the daemon user); TCP alone is refused', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const fx = await startTestDaemon(t, emu, poolYaml({ name: 'cd', size: 1 }));
  t.teardown(() => stopAndKillRunners(fx));
  const sock = path.join(fx.config.host.dataDir, 'control.sock');
  const st = await fs.lstat(sock);
  t.true(st.isSocket());
  t.is(st.mode & 0o777, 0o600);
  t.is(st.uid, process.getuid!());
  // doctor says how the API is exposed.
  const { checkApiExposure } = await import('../../src/doctor/api.js');
  const rows = await checkApiExposure({ cfg: fx.config, now: Date.now, exec: async () => ({ code: 0, stdout: '', stderr: '' }) });
  t.like(rows.find((r) => r.name === 'api socket'), { status: 'ok' });
  t.regex(rows.find((r) => r.name === 'api tcp')?.detail ?? '', /loopback.*403/);
  await fs.chmod(sock, 0o666);
  t.like((await checkApiExposure({ cfg: fx.config, now: Date.now, exec: async () => ({ code: 0, stdout: '', stderr: '' }) })).find((r) => r.name === 'api socket'), { status: 'fail' });
  await fs.chmod(sock, 0o600);

  // The same config without the socket (a user who cannot open it) gets a clear refusal, exit 1.
  const { createApiClient } = await import('../../src/api/client.js');
  const tcpOnly = createApiClient({ listen: { host: '127.0.0.1', port: fx.daemon.apiPort } });
  const err = await t.throwsAsync(() => tcpOnly.drain({}));
  t.is((err as { code?: string }).code, 'API_FORBIDDEN');
  t.false([...fx.daemon.reconciler.pools.values()].some((p) => p.draining));

  await until(() => online(emu).length === 1, 30_000, 'runner online');
  const res = await cli(['drain', '-c', fx.configPath, '--timeout', '60']);
  t.is(res.code, 0, res.stderr);
  t.true([...fx.daemon.reconciler.pools.values()].every((p) => p.draining));
  t.is(online(emu).length, 0);
  const status = await cli(['status', '--json', '-c', fx.configPath]);
  t.is(status.code, 0, status.stderr);
  t.is(JSON.parse(status.stdout).source, 'daemon');

  // The daemon removes its socket when it stops.
  await fx.stop('keep');
  t.false(await fs.lstat(sock).then(() => true, () => false));
});

test('validate: a non-loopback api.listen without api.token is a configuration error at api.listen', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rf-sec-listen-'));
  const file = path.join(dir, 'config.yaml');
  const yaml = (api: string) => `host: { name: build-01, dataDir: ${dir}/data }
github: { auth: { token: x } }
api:
${api}pools:
  - name: cd
    scope: { org: acme }
    size: 1
    backend: process
`;
  await writeFile(file, yaml('  listen: 0.0.0.0:8484\n'));
  const bad = await cli(['validate', '-c', file]);
  t.is(bad.code, 2);
  t.regex(bad.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:11: api\\.listen: `));
  await writeFile(file, yaml('  listen: "[::]:8484"\n'));
  t.is((await cli(['validate', '-c', file])).code, 2);
  await writeFile(file, yaml('  listen: 0.0.0.0:8484\n  token: operator-token\n'));
  t.is((await cli(['validate', '-c', file])).code, 0);
  for (const loop of ['127.0.0.1:8484', '127.0.0.5:8484', '"[::1]:8484"', 'localhost:8484']) {
    await writeFile(file, yaml(`  listen: ${loop}\n`));
    const r = await cli(['validate', '-c', file]);
    t.is(r.code, 0, `${loop}: ${r.stderr}`);
  }
});
