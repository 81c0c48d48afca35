import test from 'ava';
import { startEmulator } from '../emulator/index.js';
import { poolYaml, startTestDaemon, until } from '../helpers/daemon.js';
import { online, pidRecords, requestCount, stopAndKillRunners } from './lifecycle-kit.js';

const MIN = 60_000;
const REG_TOKEN = '/actions/runners/registration-token';

test('daemon start with several persistent runners and 20-minute tokens: one registration-token call, none per restart while valid', async (t) => {
  // 20-minute tokens: under the 30 minutes the refresh schedule wants, fine for a start.
  const emu = await startEmulator({ tokenTtlMs: 20 * MIN });
  t.teardown(() => emu.close());
  const pools = poolYaml({ name: 'cd', ephemeral: false, size: 3 }) + poolYaml({ name: 'ops', ephemeral: false, size: 2, labels: ['ops'] });
  const fx = await startTestDaemon(t, emu, pools, { extra: 'tokens:\n  refreshSchedule: "0 0 1 1 *"\n' });
  t.teardown(() => stopAndKillRunners(fx));

  await until(() => online(emu, 'cd').length === 3 && online(emu, 'ops').length === 2, 60_000, 'five persistent runners online');
  t.is(requestCount(emu, REG_TOKEN, { method: 'POST' }), 1, 'one call for five starts in one scope');

  // A runner dies; its replacement registers with the cached token.
  const victim = (await pidRecords(fx.config.host.dataDir)).find((r) => r.name.startsWith('h1-cd-'))!;
  process.kill(-victim.pid, 'SIGKILL');
  await until(() => fx.daemon.store.runners.get(victim.name)?.state === 'gone', 30_000, 'dead runner reaped');
  await until(() => online(emu, 'cd').length === 3, 60_000, 'replacement online');
  t.is(requestCount(emu, REG_TOKEN, { method: 'POST' }), 1, 'no call for the restart');
});

test('an all-ephemeral (JIT) fleet still keeps every scope\'s registration token valid 30+ minutes and reports its expiry per scope (contract §4 tokens.refreshSchedule, §7 status)', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const pools = poolYaml({ name: 'cd', size: 1 }) + poolYaml({ name: 'app', size: 1, scope: '{ repo: acme/app }', labels: ['app'] });
  const fx = await startTestDaemon(t, emu, pools);
  t.teardown(() => stopAndKillRunners(fx));
  await fx.daemon.ready;
  const status = await (await fetch(`http://127.0.0.1:${fx.daemon.apiPort}/api/v1/status`)).json() as { tokens: { scope: string; kind: string; expiresAt: number }[] };
  for (const scope of ['org:acme', 'repo:acme/app']) {
    const tok = status.tokens.find((k) => k.scope === scope && k.kind === 'registration');
    t.truthy(tok, `${scope}: ${JSON.stringify(status.tokens)}`);
    t.true(tok!.expiresAt > Date.now() + 30 * MIN, scope);
  }
  t.is(requestCount(emu, REG_TOKEN, { method: 'POST' }), 2, 'one call per scope');
});
