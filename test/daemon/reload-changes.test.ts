import test from 'ava';
import type { FleetConfig } from '../../src/config/types.js';
import { configChanges, forwarding } from '../../src/daemon/reload.js';

const base = {
  source: '/c.yaml',
  host: { name: 'h1', dataDir: '/var/lib/rf' },
  github: { url: 'https://github.com', apiUrl: 'https://api.github.com', auth: { kind: 'token', token: 'a' } },
  runner: { version: 'latest', updateSchedule: '0 * * * *' },
  tokens: { refreshSchedule: '*/10 * * * *' },
  tools: [],
  network: { dns: [], extraHosts: {}, checks: [] },
  api: { listen: { host: '127.0.0.1', port: 8484 } },
  reconcile: { intervalMs: 1000 },
  shutdown: { mode: 'drain', drainTimeoutMs: 1000 },
  pools: [],
} as unknown as FleetConfig;

const with_ = (f: (c: FleetConfig) => void): FleetConfig => {
  const c = structuredClone(base);
  f(c);
  return c;
};

test('configChanges: key names of what changed; restart-only keys named apart; never a value', (t) => {
  t.deepEqual(configChanges(base, structuredClone(base)), { changed: [], restartRequired: [] });
  const rotated = configChanges(base, with_((c) => {
    c.github.auth = { kind: 'token', token: 'b-secret' };
    c.api.webhookSecret = 'w-secret';
    c.network.proxy = { https: 'http://proxy:3128' };
  }));
  t.deepEqual(rotated, { changed: ['api.webhookSecret', 'github.auth', 'network.proxy'], restartRequired: [] });
  t.false(JSON.stringify(rotated).includes('secret'));
  const moved = configChanges(base, with_((c) => {
    c.api.listen = { host: '127.0.0.1', port: 9000 };
    c.host.name = 'h2';
    c.reconcile.intervalMs = 2000;
  }));
  t.deepEqual(moved.restartRequired, ['host.name', 'api.listen']);
  t.true(moved.changed.includes('reconcile'));
});

test('forwarding: calls reach whatever object is current at call time', (t) => {
  let cur = { hello: () => 'one' };
  const f = forwarding(() => cur);
  t.is(f.hello(), 'one');
  cur = { hello: () => 'two' };
  t.is(f.hello(), 'two');
});
