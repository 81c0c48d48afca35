/**
 * Network reach through the daemon (process pool): a job sees the proxy (both cases), the CA,
 * its secretEnv and pool env, and nothing of the daemon's own environment; the secret is in no
 * log line, `.env` or `_diag` file. The daemon's own GitHub traffic goes through network.proxy
 * unless noProxy says otherwise.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { createProcessBackend } from '../../src/backends/process/index.js';
import { startEmulator } from '../emulator/index.js';
import type { Emulator } from '../emulator/types.js';
import { poolYaml, startTestDaemon, until, type PoolYaml } from '../helpers/daemon.js';
import { startProxy } from '../helpers/proxy.js';
import { captureLogger, filesUnder, sha256, stopAndRemove } from './tools-kit.js';
import { tempDir } from '../helpers/temp.js';

const CANARY = `daemon-env-canary-${crypto.randomBytes(6).toString('hex')}`;
process.env.RF_PROXY_TEST_CANARY = CANARY;

async function emulator(t: ExecutionContext): Promise<Emulator> {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  return emu;
}

function makeCa(dir: string): string {
  const out = path.join(dir, 'internal-ca.pem');
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  execFileSync('openssl', [...args, '-keyout', path.join(dir, 'ca.key'), '-out', out, '-days', '2', '-subj', '/CN=rf-internal-ca'], { stdio: 'ignore' });
  return out;
}

const processPool = (p: Partial<PoolYaml> = {}): string => poolYaml({ name: 'cd', size: 1, ...p });

const online = (emu: Emulator, host: string) =>
  emu.waitForRunners((rs) => rs.some((r) => r.name.startsWith(`${host}-cd-`) && r.status === 'online'), 30_000);

/** Files under every runner dir that hold the secret, and whether each .env carries the pool env. */
function scanRunnerDirs(dataDir: string, secret: string): { leaks: string[]; envFiles: string[] } {
  const runners = path.join(dataDir, 'runners');
  const files = filesUnder(runners).filter((f) => fs.statSync(f).isFile());
  return {
    leaks: filesUnder(dataDir).filter((f) => fs.statSync(f).isFile() && fs.readFileSync(f).includes(secret)),
    envFiles: files.filter((f) => path.basename(f) === '.env'),
  };
}

test('a job sees proxy, CA, secretEnv and pool env; not the daemon env; the secret is in no log, .env or _diag', async (t) => {
  const emu = await emulator(t);
  const dir = await tempDir(t);
  const ca = makeCa(dir);
  const secret = `s3cret-${crypto.randomBytes(8).toString('hex')}`;
  const secretFile = path.join(dir, 'argocd-token');
  fs.writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
  const host = 'px1';
  const proxy = { http: 'http://proxy.corp.example:3128', https: 'http://proxy.corp.example:3129', noProxy: '127.0.0.1,localhost,.internal' };
  const cap = captureLogger();
  // Runner output echoed into the daemon log (off by default), so the log grep covers it too.
  const processBackend = createProcessBackend({ host, dataDir: path.join(dir, 'data'), logger: cap.logger, echoOutput: true });
  const fx = await startTestDaemon(t, emu, processPool({
    env: { ARGOCD_SERVER: 'argocd.internal' },
    extra: `    secretEnv: { ARGOCD_AUTH_TOKEN: ${secretFile} }\n`,
  }), {
    host, logger: cap.logger, dir, daemon: { backends: { process: processBackend } },
    extra: `network:
  proxy: { http: "${proxy.http}", https: "${proxy.https}", noProxy: "${proxy.noProxy}" }
  caFile: ${ca}
`,
  });
  t.teardown(() => stopAndRemove(fx));
  const dataDir = fx.config.host.dataDir;
  await online(emu, host);

  const before = scanRunnerDirs(dataDir, secret);
  t.deepEqual(before.leaks, []);
  t.true(before.envFiles.length >= 1);
  for (const f of before.envFiles) t.regex(fs.readFileSync(f, 'utf8'), /^ARGOCD_SERVER=argocd\.internal$/m, '.env is what the runner reads');

  const vars = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy', 'ARGOCD_SERVER', 'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE'];
  const script = `for v in ${vars.join(' ')}; do echo "$v=\${!v}"; done
test -r "$SSL_CERT_FILE" && echo ssl-cert-file-readable
test -r "$NODE_EXTRA_CA_CERTS" && echo node-ca-readable
echo "secret-sha=$(printf %s "$ARGOCD_AUTH_TOKEN" | sha256sum | cut -d' ' -f1)"
if env | grep -q '${CANARY}'; then echo daemon-env-leaked; fi
`;
  const job = await emu.waitForJob(emu.queueJob({ labels: ['self-hosted', 'cd-pipeline'], script }), 30_000);
  t.is(job.conclusion, 'success', job.output);
  const seen = Object.fromEntries(job.output.split('\n').map((l) => l.split('=')).filter((p) => p.length >= 2).map(([k, ...v]) => [k, v.join('=')]));
  t.like(seen, {
    HTTP_PROXY: proxy.http, http_proxy: proxy.http, HTTPS_PROXY: proxy.https, https_proxy: proxy.https,
    NO_PROXY: proxy.noProxy, no_proxy: proxy.noProxy, ARGOCD_SERVER: 'argocd.internal', NODE_EXTRA_CA_CERTS: ca,
    'secret-sha': sha256(secret),
  });
  t.regex(job.output, /ssl-cert-file-readable/);
  t.regex(job.output, /node-ca-readable/);
  // SSL_CERT_FILE replaces OpenSSL's roots: it must hold the internal CA (plus the system roots).
  t.true(fs.readFileSync(seen.SSL_CERT_FILE ?? '', 'utf8').includes(fs.readFileSync(ca, 'utf8').trim()));
  t.notRegex(job.output, /daemon-env-leaked/);
  t.false(job.output.includes(CANARY));

  // The replacement runner got the secret too; still nowhere on disk under the data dir.
  await emu.waitForRunners((rs) => rs.some((r) => r.name.startsWith(`${host}-cd-`) && r.status === 'online' && r.name !== job.runnerName), 30_000);
  t.deepEqual(scanRunnerDirs(dataDir, secret).leaks, []);
  // Runner output is echoed into the daemon log: the grep below covers it.
  await until(() => cap.text().includes('"stream":"runner"'), 15_000, 'runner output in the daemon log');
  await fx.stop('drain');
  t.false(cap.text().includes(secret), 'secret in a daemon log line');
  t.false(cap.text().includes(CANARY));
});

test("the daemon's GitHub traffic goes through network.proxy", async (t) => {
  const emu = await emulator(t);
  const proxy = await startProxy(t);
  const host = 'px2';
  const fx = await startTestDaemon(t, emu, processPool(), { host, extra: `network:\n  proxy: { http: "${proxy.url}" }\n` });
  t.teardown(() => stopAndRemove(fx));
  await fx.daemon.ready;
  await online(emu, host);

  const api = new URL(emu.apiUrl);
  const daemonCalls = proxy.seen.filter((r) => r.url.startsWith(`${api.origin}${api.pathname}`));
  t.true(daemonCalls.some((r) => r.method === 'GET' && r.url.includes('/orgs/acme/actions/runners')), 'runner list via proxy');
  t.true(daemonCalls.some((r) => r.method === 'POST' && r.url.includes('/orgs/acme/actions/runners/generate-jitconfig')), 'JIT registration via proxy');
  t.true(daemonCalls.every((r) => !r.ua.includes('GitHubActionsRunner')), 'only the daemon (the fake runner ignores proxy env)');
  // Downloads too: the runner tarball came through the proxy.
  t.true(proxy.seen.some((r) => r.method === 'GET' && r.url === emu.runnerRelease('2.330.0').url), 'runner download via proxy');
  // Every API call the emulator saw from the daemon came through the proxy.
  const proxiedRunnerLists = daemonCalls.filter((r) => r.method === 'GET' && /\/orgs\/acme\/actions\/runners(\?|$)/.test(r.url)).length;
  const emuRunnerLists = emu.requests().filter((r) => r.method === 'GET' && r.route === '/orgs/{org}/actions/runners').reduce((n, r) => n + r.count, 0);
  t.true(emuRunnerLists > 0);
  t.true(proxiedRunnerLists >= emuRunnerLists, `${proxiedRunnerLists} proxied vs ${emuRunnerLists} served`);
});

test('noProxy bypasses network.proxy for matching hosts', async (t) => {
  const emu = await emulator(t);
  const proxy = await startProxy(t);
  const host = 'px3';
  const fx = await startTestDaemon(t, emu, processPool(), { host, extra: `network:\n  proxy: { http: "${proxy.url}", noProxy: "localhost,127.0.0.0/8" }\n` });
  t.teardown(() => stopAndRemove(fx));
  await fx.daemon.ready;
  await online(emu, host);
  t.true(emu.requests().some((r) => r.route === '/orgs/{org}/actions/runners' && r.count > 0));
  t.deepEqual(proxy.seen, []);
});
