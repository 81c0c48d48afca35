import test from 'ava';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { startEmulator } from '../emulator/index.js';
import { poolYaml, startTestDaemon, until } from '../helpers/daemon.js';
import { JOB_LABELS, ShiftedClock, online, pidRecords, requestCount, stopAndKillRunners } from './lifecycle-kit.js';

const MIN = 60_000;
const REG_TOKEN = '/actions/runners/registration-token';

test('persistent pool: config.sh with a cached token, --disableupdate, labels and group; two jobs on one runner; due tokens refreshed', async (t) => {
  // 20-minute tokens: every token has less than the 30 minutes the cache wants, so each is "due".
  const emu = await startEmulator({ tokenTtlMs: 20 * MIN, runnerGroups: [{ org: 'acme', name: 'deploy' }] });
  t.teardown(() => emu.close());
  const fx = await startTestDaemon(t, emu, poolYaml({ name: 'cd', ephemeral: false, runnerGroup: 'deploy', labels: ['cd-pipeline', 'docker'] }), {
    extra: 'tokens:\n  refreshSchedule: "* * * * * *"\n',
  });
  t.teardown(() => stopAndKillRunners(fx));

  const [runner] = await until(() => (online(emu).length === 1 ? online(emu) : null), 30_000, 'persistent runner online');
  t.false(runner!.ephemeral);
  t.true(runner!.disableUpdate, 'registered with --disableupdate');
  t.is(runner!.runnerGroupId, 2, 'registered in runner group "deploy"');
  const labels = runner!.labels.map((l) => l.toLowerCase());
  for (const l of ['self-hosted', 'linux', 'cd-pipeline', 'docker']) t.true(labels.includes(l), `label ${l}`);
  t.is(requestCount(emu, '/actions/runner-registration', { status: 404 }), 0, 'config.sh never got a dead token');
  t.is(requestCount(emu, '/generate-jitconfig'), 0, 'persistent runners do not use JIT');

  // The token lives in the state DB with its expiry; it is nowhere in the runner's start script.
  const tok = fx.daemon.store.tokens.get('org:acme', 'registration');
  t.truthy(tok);
  t.true(Math.abs(tok!.expiresAt - (Date.now() + 20 * MIN)) < 2 * MIN, 'expiry stored as GitHub gave it');
  const script = await fs.readFile(path.join(fx.config.host.dataDir, 'runners', runner!.name, '.rf', 'start.sh'), 'utf8');
  t.false(script.includes(tok!.token));

  // Persistent: the same runner takes two jobs in a row and stays.
  const j1 = await emu.waitForJob(emu.queueJob({ labels: JOB_LABELS, script: 'echo first' }), 30_000);
  const j2 = await emu.waitForJob(emu.queueJob({ labels: JOB_LABELS, script: 'echo second' }), 30_000);
  t.is(j1.conclusion, 'success');
  t.is(j2.conclusion, 'success');
  t.is(j1.runnerName, runner!.name);
  t.is(j2.runnerName, runner!.name);
  t.deepEqual(online(emu).map((r) => r.name), [runner!.name]);
  t.is(fx.daemon.store.runners.list({ pool: 'cd', includeGone: true }).length, 1, 'no replacement was started');

  // tokens.refreshSchedule (every second here) renews a token that has under 30 minutes left.
  const before = requestCount(emu, REG_TOKEN, { method: 'POST' });
  await until(() => requestCount(emu, REG_TOKEN, { method: 'POST' }) >= before + 2, 15_000, 'scheduled token refreshes');
  const renewed = fx.daemon.store.tokens.get('org:acme', 'registration')!;
  t.not(renewed.token, tok!.token);
  t.true(renewed.fetchedAt > tok!.fetchedAt);
  const status = (await (await fetch(`http://127.0.0.1:${fx.daemon.apiPort}/api/v1/status`)).json()) as { tokens: { scope: string; kind: string; expiresAt: number }[] };
  t.true(status.tokens.some((x) => x.scope === 'org:acme' && x.kind === 'registration' && x.expiresAt >= renewed.expiresAt));
});

test('a registration after the cached token expired fetches a fresh one: config.sh never sees an expired token', async (t) => {
  const clock = new ShiftedClock();
  const emu = await startEmulator({ tokenTtlMs: 40 * MIN, clock });
  t.teardown(() => emu.close());
  const fx = await startTestDaemon(t, emu, poolYaml({ name: 'cd', ephemeral: false }), { daemon: { clock } });
  t.teardown(() => stopAndKillRunners(fx));

  const [first] = await until(() => (online(emu).length === 1 ? online(emu) : null), 30_000, 'first runner online');
  // 40 minutes left at start: the start-up refresh fetched it and the registration reused it.
  t.is(requestCount(emu, REG_TOKEN, { method: 'POST' }), 1);

  clock.advance(45 * MIN);
  const stale = fx.daemon.store.tokens.get('org:acme', 'registration')!;
  t.true(stale.expiresAt < clock.now(), 'the cached token has expired');

  // The server drops the registration: the listener exits 0 and the daemon registers a replacement.
  t.is(emu.deleteRunner(first!.id), 'deleted');
  const [second] = await until(
    () => (online(emu).length === 1 && online(emu)[0]!.name !== first!.name ? online(emu) : null),
    30_000,
    'replacement online',
  );
  t.false(second!.ephemeral);
  t.is(requestCount(emu, '/actions/runner-registration', { status: 404 }), 0, 'no registration attempt with an expired token');
  t.is(requestCount(emu, REG_TOKEN, { method: 'POST' }), 2);
  const fresh = fx.daemon.store.tokens.get('org:acme', 'registration')!;
  t.not(fresh.token, stale.token);
  t.true(fresh.expiresAt - clock.now() > 30 * MIN);
  const exits = fx.daemon.store.events.recent(50, { runner: first!.name }).filter((e) => e.kind === 'runner.exited');
  t.is((exits[0]?.data as { exitCode?: number } | undefined)?.exitCode, 0);
});

test('a persistent runner killed outright is deregistered at once, by the id in its own .runner file once GitHub confirms its name', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  // GitHub's list is read at start only: the ghost sweep cannot be what removes the registration.
  const fx = await startTestDaemon(t, emu, poolYaml({ name: 'cd', ephemeral: false }), { host: 'pk1', daemon: { githubListIntervalMs: 3_600_000 } });
  t.teardown(() => stopAndKillRunners(fx));
  const mine = () => emu.runners().filter((r) => /^pk1-cd-[a-z0-9]{8}$/.test(r.name));
  const [first] = await until(() => (mine().some((r) => r.status === 'online') ? mine() : null), 30_000, 'runner online');
  const lists = () => emu.requests().filter((r) => r.route === '/orgs/{org}/actions/runners' && r.method === 'GET').reduce((n, r) => n + r.count, 0);
  const listsBefore = lists();

  const [rec] = await pidRecords(fx.config.host.dataDir);
  process.kill(-rec!.pid, 'SIGKILL');
  await until(() => !emu.runners().some((r) => r.id === first!.id), 20_000, 'the killed runner deregistered');
  await until(() => mine().some((r) => r.id !== first!.id && r.status === 'online'), 30_000, 'a replacement online');
  t.is(fx.daemon.store.runners.get(first!.name)?.githubId, first!.id);
  t.is(lists(), listsBefore, 'no runner-list call was needed');
  // `.runner` is the job's to rewrite: the id is used only after a GET shows it is this runner.
  t.true(requestCount(emu, '/orgs/{org}/actions/runners/{runner_id}', { method: 'GET' }) >= 1);
});
