import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { startEmulator } from '../emulator/index.js';
import { cli, configYaml, json, silentServer, tmp, write } from './kit.js';

interface Row {
  name: string;
  status: 'ok' | 'warn' | 'fail' | 'skip';
  detail: string;
  hint?: string;
  cause?: string;
}
interface Report {
  ok: boolean;
  checks: Row[];
}

const row = (r: Report, name: string) => r.checks.find((c) => c.name === name);

test('doctor, GitHub unresolvable: one dns cause, dependants skipped, no permission advice; exit 1', async (t) => {
  const dir = await tmp(t);
  const cfg = write(dir, 'config.yaml', configYaml({ dataDir: path.join(dir, 'data'), apiUrl: 'https://api.github.invalid', extra: 'network: { checks: ["nowhere.invalid:443"] }' }));
  const r = await cli(['doctor', '--json', '-c', cfg]);
  t.is(r.code, 1, r.stderr);
  const rep = json<Report>(t, r);
  t.false(rep.ok);
  t.like(row(rep, 'github api'), { status: 'fail', cause: 'dns' });
  t.like(row(rep, 'github org acme'), { status: 'skip' });
  t.like(row(rep, 'exposure cd'), { status: 'skip' });
  t.not(row(rep, 'runner version')?.status, 'fail');
  t.like(row(rep, 'reach nowhere.invalid:443'), { status: 'fail', cause: 'dns' });
  t.false(rep.checks.some((c) => /admin:org|HTTP 500/.test(`${c.detail} ${c.hint ?? ''}`)), JSON.stringify(rep.checks));
});

test('doctor, a GitHub port that accepts and never answers: timeout cause within --timeout, dependants skipped', async (t) => {
  const port = await silentServer(t);
  const dir = await tmp(t);
  const cfg = write(dir, 'config.yaml', configYaml({ dataDir: path.join(dir, 'data'), apiUrl: `http://127.0.0.1:${port}`, extra: `network: { checks: ["127.0.0.1:${port}"] }` }));
  const r = await cli(['doctor', '--json', '--timeout', '1s', '-c', cfg]);
  t.is(r.code, 1, r.stderr);
  const rep = json<Report>(t, r);
  t.like(row(rep, 'github api'), { status: 'fail', cause: 'timeout' });
  t.like(row(rep, 'github org acme'), { status: 'skip' });
  t.like(row(rep, 'exposure cd'), { status: 'skip' });
  // The TCP probe itself connects: the port is open, it is HTTP that never comes.
  t.like(row(rep, `reach 127.0.0.1:${port}`), { status: 'ok' });
});

test('doctor against the emulator: a wrong token is an auth cause with the permission fix; exposure skipped', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const dir = await tmp(t);
  const good = write(dir, 'good.yaml', configYaml({ dataDir: path.join(dir, 'data'), apiUrl: emu.apiUrl, url: emu.url }));
  const bad = write(dir, 'bad.yaml', configYaml({ dataDir: path.join(dir, 'data'), apiUrl: emu.apiUrl, url: emu.url, token: 'wrong' }));
  const ok = json<Report>(t, await cli(['doctor', '--json', '-c', good]));
  t.like(row(ok, 'github api'), { status: 'ok' });
  t.like(row(ok, 'github org acme'), { status: 'ok' });
  t.like(row(ok, 'exposure cd'), { status: 'ok' });
  const r = await cli(['doctor', '--json', '-c', bad]);
  t.is(r.code, 1);
  const rep = json<Report>(t, r);
  t.like(row(rep, 'github api'), { status: 'ok' });
  t.like(row(rep, 'github org acme'), { status: 'fail', cause: 'auth' });
  t.regex(row(rep, 'github org acme')?.hint ?? '', /admin:org/);
  t.like(row(rep, 'exposure cd'), { status: 'skip' });
});

test('doctor --timeout takes the config duration syntax; a bad one is a usage error (exit 2)', async (t) => {
  const dir = await tmp(t);
  const cfg = write(dir, 'config.yaml', configYaml({ dataDir: path.join(dir, 'data'), apiUrl: 'https://api.github.invalid' }));
  t.is((await cli(['doctor', '--json', '--timeout', '1m', '-c', cfg])).code, 1);
  t.is((await cli(['doctor', '--timeout', 'soon', '-c', cfg])).code, 2);
});

test('doctor with a config error: still a table or JSON with the failed config row, exit 2', async (t) => {
  const dir = await tmp(t);
  const cfg = write(dir, 'config.yaml', configYaml({ dataDir: path.join(dir, 'data'), apiUrl: 'https://api.github.invalid', extra: `network: { caFile: ${dir}/missing-ca.pem }` }));
  const r = await cli(['doctor', '--json', '-c', cfg]);
  t.is(r.code, 2, r.stderr);
  const rep = json<Report>(t, r);
  t.false(rep.ok);
  t.like(row(rep, 'config'), { status: 'fail' });
  t.regex(row(rep, 'config')?.detail ?? '', /config\.yaml:\d+:\d+: network\.caFile/);
  const table = await cli(['doctor', '-c', cfg]);
  t.is(table.code, 2);
  t.regex(table.stdout, /^CHECK\s+STATUS\s+DETAIL/m);
  t.regex(table.stdout, /1 check: 1 failed/);
});

test('doctor rows fit the terminal width (wrapped, never cut)', async (t) => {
  const dir = await tmp(t);
  const cfg = write(dir, 'config.yaml', configYaml({ dataDir: path.join(dir, 'data'), apiUrl: 'https://api.github.invalid', extra: 'network: { checks: ["a-rather-long-internal-host-name.department.example.invalid:443"] }' }));
  const r = await cli(['doctor', '-c', cfg], { COLUMNS: '80' });
  t.is(r.code, 1);
  const lines = r.stdout.split('\n');
  t.true(lines.length > 5);
  t.deepEqual(lines.filter((l) => l.length > 80), []);
  t.regex(r.stdout, /\d+ checks: \d+ failed/);
});

test('validate: a missing caFile or secretEnv file is a config error at its line (exit 2)', async (t) => {
  const dir = await tmp(t);
  const there = write(dir, 'token', 'x\n');
  const cfg = write(dir, 'config.yaml', configYaml({
    dataDir: path.join(dir, 'data'), apiUrl: 'https://api.github.invalid', extra: 'network: { caFile: missing-ca.pem }',
    pool: `  - name: cd
    scope: { org: acme }
    backend: process
    size: 1
    secretEnv: { GOOD: ${there}, BAD: ${dir}/nope }`,
  }));
  const r = await cli(['validate', '-c', cfg]);
  t.is(r.code, 2);
  const lines = r.stderr.trim().split('\n');
  t.true(lines.some((l) => l.startsWith(`${cfg}:`) && /:\d+:\d+: network\.caFile: /.test(l)), r.stderr);
  t.true(lines.some((l) => /:\d+:\d+: pools\[0\]\.secretEnv\.BAD: /.test(l)), r.stderr);
  t.false(lines.some((l) => l.includes('secretEnv.GOOD')));
});

/** A self-signed certificate (no CA the host trusts) for 127.0.0.1. */
function selfSigned(dir: string): { key: string; cert: string } {
  const key = path.join(dir, 'k.pem');
  const cert = path.join(dir, 'c.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
    '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { key: fs.readFileSync(key, 'utf8'), cert: fs.readFileSync(cert, 'utf8') };
}

async function listen(t: ExecutionContext, srv: net.Server): Promise<number> {
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => srv.close(() => r())));
  return (srv.address() as net.AddressInfo).port;
}

test('doctor: an untrusted certificate is a tls cause; a proxy answering 407 is a proxy cause', async (t) => {
  const dir = await tmp(t);
  const tlsSrv = https.createServer(selfSigned(dir), (_req, res) => res.end('{}'));
  const tlsPort = await listen(t, tlsSrv);
  const proxy = http.createServer((_req, res) => res.writeHead(407, { 'proxy-authenticate': 'Basic realm="corp"' }).end());
  proxy.on('connect', (_req, sock: net.Socket) => sock.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="corp"\r\n\r\n'));
  const proxyPort = await listen(t, proxy);

  const tlsCfg = write(dir, 'tls.yaml', configYaml({ dataDir: path.join(dir, 'data'), apiUrl: `https://127.0.0.1:${tlsPort}` }));
  const a = json<Report>(t, await cli(['doctor', '--json', '-c', tlsCfg]));
  t.like(row(a, 'github api'), { status: 'fail', cause: 'tls' });
  t.regex(row(a, 'github api')?.hint ?? '', /caFile/);
  t.like(row(a, 'github org acme'), { status: 'skip' });

  const proxyCfg = write(dir, 'proxy.yaml', configYaml({
    dataDir: path.join(dir, 'data'), apiUrl: 'https://api.github.com', extra: `network: { proxy: { https: "http://127.0.0.1:${proxyPort}" } }`,
  }));
  const b = json<Report>(t, await cli(['doctor', '--json', '-c', proxyCfg]));
  t.like(row(b, 'github api'), { status: 'fail', cause: 'proxy' });
  t.like(row(b, 'exposure cd'), { status: 'skip' });
});
