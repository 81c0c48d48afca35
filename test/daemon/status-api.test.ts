import net from 'node:net';
import test from 'ava';
import type { StatusReport } from '../../src/api/types.js';
import { startEmulator } from '../emulator/index.js';
import { poolYaml, startTestDaemon, until } from '../helpers/daemon.js';

async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

test('/api/v1/status: pools with desired/actual runners, token expiry, network checks; /metrics carries the contract names', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const reachable = `127.0.0.1:${new URL(emu.url).port}`;
  const unreachable = `127.0.0.1:${await closedPort()}`;
  const extra = `network:\n  checks: ["${reachable}", "${unreachable}"]\n`;
  const pools = poolYaml({ name: 'cd', size: 1, ephemeral: false }) + `  - name: pub
    scope: { repo: acme/site }
    backend: process
    size: 1
`;
  const fx = await startTestDaemon(t, emu, pools, { extra, host: 'st1' });
  t.teardown(() => fx.stop('keep'));
  emu.addForeignRunner('org:acme', 'unrelated-runner');
  const base = `http://127.0.0.1:${fx.daemon.apiPort}`;
  const status = async () => (await (await fetch(`${base}/api/v1/status`)).json()) as StatusReport;

  const s = await until(async () => {
    const r = await status();
    const cd = r.pools.find((p) => p.name === 'cd');
    return cd?.runners[0]?.state === 'idle' && r.networkChecks.length === 2 ? r : undefined;
  }, 30_000, 'an idle runner and both network checks');
  t.is(s.host, 'st1');
  const cd = s.pools.find((p) => p.name === 'cd')!;
  t.like(cd, { backend: 'process', scope: 'org:acme', desired: 1, actual: 1, healthy: true });
  const r = cd.runners[0]!;
  t.regex(r.name, /^st1-cd-[a-z0-9]{8}$/);
  t.like(r, { backend: 'process', busy: false });
  t.true(typeof r.startedAt === 'number');
  t.true(r.labels.includes('cd-pipeline') && r.labels.includes('self-hosted'));
  // A persistent runner registered with a token: the token's expiry per scope is reported.
  t.true(s.tokens.some((k) => k.scope === 'org:acme' && k.kind === 'registration' && k.expiresAt > Date.now()));
  t.deepEqual(s.networkChecks.map((c) => [c.target, c.ok]), [[reachable, true], [unreachable, false]]);

  // acme/site does not exist as a private repo here: the pool is reported, not fatal.
  const pub = s.pools.find((p) => p.name === 'pub')!;
  t.false(pub.healthy);
  t.truthy(pub.error);
  t.truthy(pub.errorCode);

  const metrics = await (await fetch(`${base}/metrics`)).text();
  for (const name of ['runners', 'github_requests_total', 'github_rate_limit_remaining', 'token_expiry_timestamp_seconds', 'reconcile_duration_seconds', 'scale_up_latency_seconds']) {
    t.regex(metrics, new RegExp(`^runner_fleet_${name}`, 'm'), name);
  }
  t.is((await fetch(`${base}/healthz`)).status, 200);
});
