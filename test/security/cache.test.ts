/**
 * Hostile jobs against what runners share: the verified runner cache and the tools. A job tries
 * to write, append, chmod and replace them through its own runner root (and directly); the
 * cache and tools must be byte-identical afterwards. Tampering from outside the job boundary is
 * caught by the manifest (RUNNER_TAMPERED) and repaired by a fresh download.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import Dockerode from 'dockerode';
import { createProcessBackend } from '../../src/backends/process/index.js';
import { silentLogger } from '../../src/log.js';
import { ensureRunnerCached, runnerCacheDir } from '../../src/runner/download.js';
import { checkCacheDir } from '../../src/runner/manifest.js';
import { prepareRunnerDir } from '../../src/runner/prepare.js';
import { startEmulator } from '../emulator/index.js';
import { startTestDaemon } from '../helpers/daemon.js';
import { requireDocker } from '../helpers/engines.js';
import { until } from '../helpers/poll.js';
import { cleanupDockerDaemon, dockerPoolYaml, onlineCount, ours, toolsYaml, uniqueHost } from '../daemon/docker-kit.js';
import { cacheFixture, countingFetch, tempDir } from '../runner/util.js';
import { ATTACK, ensureJobUser, JOB_USER, snapshot } from './isolation-kit.js';

const docker = new Dockerode();

test('tampering with a cached runner from outside: RUNNER_TAMPERED, quarantined, downloaded again', async (t) => {
  const { dataDir, store, rel } = await cacheFixture(t);
  const { fetch, calls } = countingFetch();
  const opts = { dataDir, version: '2.330.0', url: rel.url, sha256: rel.sha256, fetch, store };
  const first = await ensureRunnerCached(opts);
  const cache = runnerCacheDir(dataDir, '2.330.0');
  const clean = snapshot(cache);
  t.true((await checkCacheDir(cache)).ok);
  // Shared files are read-only for everyone from the moment they are verified.
  for (const [rel2, s] of Object.entries(clean)) if (!fs.lstatSync(path.join(cache, rel2)).isDirectory()) t.regex(s, /^100[45]{3} /, rel2);

  // Someone with the daemon's rights rewrites a file (a restart later finds it).
  const listener = path.join(cache, 'bin', 'Runner.Listener');
  fs.chmodSync(listener, 0o755);
  fs.appendFileSync(listener, '\n# pwned\n');
  fs.chmodSync(listener, 0o555);
  const again = await ensureRunnerCached(opts);
  t.true(again.downloaded, 'downloaded again');
  t.is(calls.length, 2);
  t.deepEqual(snapshot(cache), clean, 'the cache is back to the verified bytes');
  t.true(store.events.recent(10, { kind: 'RUNNER_TAMPERED' }).length === 1, 'RUNNER_TAMPERED recorded');
  const quarantined = fs.readdirSync(path.join(path.dirname(cache), '.quarantine'));
  t.is(quarantined.filter((q) => q.startsWith('2.330.0-') && !q.endsWith('.json')).length, 1);

  // A planted extra file counts too (bin/ is what the runner loads from).
  fs.writeFileSync(path.join(cache, 'bin', 'planted.so'), 'x');
  t.false((await checkCacheDir(cache)).ok);
  t.true((await ensureRunnerCached(opts)).downloaded);
  t.false(fs.existsSync(path.join(cache, 'bin', 'planted.so')));
  // Unchanged: no network at all.
  t.false((await ensureRunnerCached(opts)).downloaded);
  t.is(calls.length, 3);
  t.is(first.path, cache);
});

test('a process runner job as its own user cannot change the runner cache or the tools through its root', async (t) => {
  if (process.getuid?.() !== 0) return void t.fail('needs root (useradd, switching users)');
  const ids = ensureJobUser();
  const emu = await startEmulator({ runnerVersions: ['2.330.0'] });
  t.teardown(() => emu.close());
  const dataDir = await tempDir(t, 'rf-sec-cache-');
  fs.chmodSync(dataDir, 0o711);
  const rel = emu.runnerRelease('2.330.0');
  await ensureRunnerCached({ dataDir, version: '2.330.0', url: rel.url, sha256: rel.sha256, fetch });
  const tools = path.join(dataDir, 'tools', 'yq', 'v4', 'x64');
  fs.mkdirSync(tools, { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(tools, 'yq'), '#!/bin/sh\necho yq\n', { mode: 0o755 });
  const name = 'h1-cd-procat1';
  const { root } = prepareRunnerDir({ dataDir, name, version: '2.330.0', env: {}, pathDirs: ['/usr/bin', '/bin'], ...ids });
  const before = { cache: snapshot(path.join(dataDir, 'cache')), tools: snapshot(path.join(dataDir, 'tools')) };

  const backend = createProcessBackend({ host: 'h1', dataDir, logger: silentLogger(), pollMs: 50 });
  t.teardown(() => backend.destroy(name, { graceMs: 0 }).catch(() => undefined));
  await backend.create({
    name, pool: 'cd', host: 'h1', root, user: JOB_USER,
    command: ['/bin/sh', '-c', ATTACK],
    env: { PATH: '/usr/bin:/bin', R: root, D: dataDir }, secretEnv: {}, mounts: [], ephemeral: true, network: { dns: [], extraHosts: {} },
  });
  const out = await until(async () => {
    const s = await backend.logs!(name, { tail: 1000 });
    return s.includes('attacks-done') ? s : undefined;
  }, 30_000, 'attacks');
  t.true(out.includes("refused"), out);
  t.false(out.includes('ATTACK-OK'), out);
  t.deepEqual(snapshot(path.join(dataDir, 'cache')), before.cache);
  t.deepEqual(snapshot(path.join(dataDir, 'tools')), before.tools);
  t.true((await checkCacheDir(runnerCacheDir(dataDir, '2.330.0'))).ok);
});

test.serial('a root job in a Docker runner cannot change the runner cache or the tools; later runners still work', async (t) => {
  if (!(await requireDocker(t))) return;
  t.timeout(3 * 60_000);
  const host = uniqueHost('sc');
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const track = cleanupDockerDaemon(t, docker, host);
  // The test image runs as root, and the pool allows it (RUNNER_ALLOW_RUNASROOT).
  const fx = track(await startTestDaemon(t, emu, dockerPoolYaml({ size: 1 }), { host, extra: toolsYaml(emu) }));
  await emu.waitForRunners((rs) => onlineCount(host, rs) === 1, 60_000);
  const dataDir = fx.config.host.dataDir;
  const before = { cache: snapshot(path.join(dataDir, 'cache', 'runner')), tools: snapshot(path.join(dataDir, 'tools')) };

  const script = `R="\${RUNNER_WORKSPACE%/_work}"; D="\${RUNNER_TOOL_CACHE%/tools}"; id -u; ${ATTACK}`;
  const job = await emu.waitForJob(emu.queueJob({ labels: ['self-hosted', 'cd-pipeline'], script }), 60_000);
  t.regex(job.output, /^0$/m, 'the job ran as root');
  t.regex(job.output, /attacks-done/);
  t.regex(job.output, /refused/);
  t.false(job.output.includes('ATTACK-OK'), job.output);
  t.deepEqual(snapshot(path.join(dataDir, 'cache', 'runner')), before.cache, 'runner cache unchanged');
  t.deepEqual(snapshot(path.join(dataDir, 'tools')), before.tools, 'tools unchanged');

  // The next runner comes up from the same cache and runs a job.
  await emu.waitForRunners((rs) => onlineCount(host, rs) === 1 && !ours(host, rs).some((r) => r.name === job.runnerName), 60_000);
  const next = await emu.waitForJob(emu.queueJob({ labels: ['self-hosted', 'cd-pipeline'], script: 'argocd version --client && echo next-ok' }), 60_000);
  t.is(next.conclusion, 'success', next.output);
  t.regex(next.output, /next-ok/);
});
