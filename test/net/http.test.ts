import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { createHttp } from '../../src/net/http.js';
import { parseNoProxy } from '../../src/net/no-proxy.js';
import { startProxy, type ProxiedRequest } from '../helpers/proxy.js';
import { tempDir } from '../runner/util.js';

const listen = (srv: net.Server): Promise<number> =>
  new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve((srv.address() as AddressInfo).port)));

function closeAll(t: ExecutionContext, srv: http.Server | net.Server): void {
  const sockets = new Set<net.Socket>();
  srv.on('connection', (s: net.Socket) => sockets.add(s));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => srv.close(() => r()));
  });
}

/** What went through the proxy, one `METHOD url` line each. */
const seen = (proxy: { seen: ProxiedRequest[] }): string[] => proxy.seen.map((r) => `${r.method} ${r.url}`);

async function startTarget(t: ExecutionContext): Promise<string> {
  const srv = http.createServer((_req, res) => res.end('hello'));
  closeAll(t, srv);
  return `http://127.0.0.1:${await listen(srv)}`;
}

function makeCerts(dir: string): { ca: string; key: string; cert: string } {
  const p = (f: string) => path.join(dir, f);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  execFileSync('openssl', ['req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '2', '-subj', '/CN=rf-test-ca'], { stdio: 'ignore' });
  execFileSync('openssl', ['req', ...ec, '-keyout', p('srv.key'), '-out', p('srv.csr'), '-subj', '/CN=localhost'], { stdio: 'ignore' });
  fs.writeFileSync(p('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  execFileSync('openssl', ['x509', '-req', '-in', p('srv.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('srv.pem'), '-days', '2', '-extfile', p('ext.cnf')], { stdio: 'ignore' });
  return { ca: p('ca.pem'), key: p('srv.key'), cert: p('srv.pem') };
}

test('requests go through the proxy; noProxy bypasses it', async (t) => {
  const proxy = await startProxy(t);
  const target = await startTarget(t);
  const viaProxy = createHttp({ network: { proxy: { http: proxy.url, https: proxy.url } } });
  t.teardown(() => viaProxy.close());
  t.is(await (await viaProxy.fetch(`${target}/a`)).text(), 'hello');
  t.deepEqual(seen(proxy), [`GET ${target}/a`]);

  const bypass = createHttp({ network: { proxy: { http: proxy.url, https: proxy.url, noProxy: 'example.com,127.0.0.0/8' } } });
  t.teardown(() => bypass.close());
  t.is(await (await bypass.fetch(`${target}/b`)).text(), 'hello');
  t.deepEqual(seen(proxy), [`GET ${target}/a`], 'noProxy: the proxy saw nothing new');
});

test('an internal CA is trusted only with caFile, directly and through a CONNECT proxy', async (t) => {
  const dir = await tempDir(t, 'rf-net-');
  const certs = makeCerts(dir);
  const srv = https.createServer({ key: fs.readFileSync(certs.key), cert: fs.readFileSync(certs.cert) }, (_req, res) => res.end('secure'));
  closeAll(t, srv);
  const url = `https://127.0.0.1:${await listen(srv)}/x`;

  const without = createHttp({ network: {} });
  t.teardown(() => without.close());
  await t.throwsAsync(without.fetch(url));

  const withCa = createHttp({ network: {}, caFile: certs.ca });
  t.teardown(() => withCa.close());
  t.is(await (await withCa.fetch(url)).text(), 'secure');

  const proxy = await startProxy(t);
  const both = createHttp({ network: { proxy: { https: proxy.url }, caFile: certs.ca } });
  t.teardown(() => both.close());
  t.is(await (await both.fetch(url)).text(), 'secure');
  t.true(seen(proxy).some((s) => s.startsWith('CONNECT 127.0.0.1:')));
});

test('noProxy matching: suffixes, exact hosts, CIDRs, ports, wildcard', (t) => {
  const m = parseNoProxy('.internal, build.example.com,10.0.0.0/8, 192.168.1.5, fd00::/8, registry:5000');
  t.true(m('argocd.internal', 443));
  t.true(m('internal', 443));
  t.false(m('internal.evil.com', 443));
  t.true(m('build.example.com', 443));
  t.true(m('a.build.example.com', 443));
  t.false(m('example.com', 443));
  t.true(m('10.20.0.15', 443));
  t.false(m('11.0.0.1', 443));
  t.true(m('192.168.1.5', 80));
  t.false(m('192.168.1.6', 80));
  t.true(m('[fd00::1]', 443));
  t.false(m('fe80::1', 443));
  t.true(m('registry', 5000));
  t.false(m('registry', 443));
  t.true(parseNoProxy('*')('anything', 1));
  t.false(parseNoProxy(undefined)('anything', 1));
});
