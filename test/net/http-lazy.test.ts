import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import test from 'ava';
import { createHttp } from '../../src/net/http.js';
import { startProxy } from '../helpers/proxy.js';

// Issue 13 (footprint): undici is the largest library the daemon would load; where the network
// needs no proxy, CA or timeout of our own, Node's built-in fetch does the same job.
const undiciLoaded = () => Object.keys(createRequire(import.meta.url).cache).some((f) => f.includes('/node_modules/undici/'));

async function target(t: import('ava').ExecutionContext): Promise<string> {
  const srv = http.createServer((_req, res) => res.end('hello'));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => srv.close(() => r())));
  return `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
}

// Serial, in this order: the first one needs a process where nothing has loaded undici yet.
test.serial('no proxy, no caFile: requests work and undici is never loaded', async (t) => {
  const h = createHttp({ network: { proxy: { noProxy: 'example.com' } } });
  t.is(await (await h.fetch(`${await target(t)}/a`, { headers: { connection: 'close' } })).text(), 'hello');
  await h.close();
  await h.destroy();
  t.false(undiciLoaded());
});

test.serial('a proxy: undici is loaded at the first request, not before', async (t) => {
  const proxy = await startProxy(t);
  const h = createHttp({ network: { proxy: { http: proxy.url } } });
  t.teardown(() => h.destroy());
  t.false(undiciLoaded());
  t.is(await (await h.fetch(`${await target(t)}/b`)).text(), 'hello');
  t.true(undiciLoaded());
  t.is(proxy.seen.length, 1);
});
