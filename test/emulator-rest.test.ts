import test from 'ava';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/rest';
import { ManualClock } from '../src/clock.js';
import { startEmulator } from './emulator/index.js';

const H = { authorization: 'token test-pat', 'content-type': 'application/json' };

async function call(url: string, method = 'GET', body?: unknown, headers: Record<string, string> = H) {
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

const jit = (name: string, labels = ['self-hosted', 'Linux', 'X64', 'cd'], runner_group_id = 1) => ({ name, labels, runner_group_id });

test('registration and remove tokens: 201 {token, expires_at}, expiry enforced by the runner-registration call', async (t) => {
  const clock = new ManualClock();
  const emu = await startEmulator({ clock, tokenTtlMs: 60_000 });
  t.teardown(() => emu.close());
  for (const kind of ['registration', 'remove']) {
    const r = await call(`${emu.apiUrl}/orgs/acme/actions/runners/${kind}-token`, 'POST');
    t.is(r.status, 201);
    t.is(typeof r.body.token, 'string');
    t.is(Date.parse(r.body.expires_at), clock.now() + 60_000);
  }
  const { body } = await call(`${emu.apiUrl}/repos/acme/app/actions/runners/registration-token`, 'POST');
  const register = (token: string) =>
    call(`${emu.apiUrl}/actions/runner-registration`, 'POST', { url: `${emu.url}/acme/app`, runner_event: 'register' }, { authorization: `RemoteAuth ${token}` });
  t.is((await register(body.token)).status, 200);
  clock.advance(60_001);
  t.is((await register(body.token)).status, 404, 'an expired registration token is refused');
});

test('GHES prefix and root both answer; unknown tokens get 401; unknown scopes 404', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  t.is((await call(`${emu.apiUrl}/orgs/acme/actions/runners`)).status, 200);
  t.is((await call(`${emu.url}/orgs/acme/actions/runners`)).status, 200);
  t.is((await call(`${emu.url}/enterprises/ent/actions/runners`)).status, 200);
  t.is((await call(`${emu.url}/orgs/acme/actions/runners`, 'GET', undefined, { authorization: 'Bearer nope' })).status, 401);
  t.is((await call(`${emu.url}/orgs/acme/actions/runners`, 'GET', undefined, {})).status, 401);
  t.is((await call(`${emu.url}/orgs/nobody/actions/runners`)).status, 404);
  const repo = await call(`${emu.apiUrl}/repos/acme/app`);
  t.is(repo.body.visibility, 'private');
  t.true(repo.body.private);
});

test('generate-jitconfig: labels as sent with OS labels read-only, 409 on a taken name, 422 on bad input', async (t) => {
  const emu = await startEmulator({ runnerGroups: [{ org: 'acme', name: 'cd' }] });
  t.teardown(() => emu.close());
  const url = `${emu.apiUrl}/orgs/acme/actions/runners/generate-jitconfig`;
  const r = await call(url, 'POST', jit('h-cd-abc123'));
  t.is(r.status, 201);
  t.is(r.body.runner.status, 'offline');
  t.deepEqual(r.body.runner.labels.map((l: any) => [l.name, l.type]), [['self-hosted', 'read-only'], ['Linux', 'read-only'], ['X64', 'read-only'], ['cd', 'custom']]);
  const files = JSON.parse(Buffer.from(r.body.encoded_jit_config, 'base64').toString());
  t.deepEqual(Object.keys(files).sort(), ['.credentials', '.credentials_rsaparams', '.runner']);
  const runnerFile = Buffer.from(files['.runner'], 'base64').toString('utf8');
  t.is(runnerFile.charCodeAt(0), 0xfeff, 'UTF-8 with BOM');
  t.is(JSON.parse(runnerFile.slice(1)).agentName, 'h-cd-abc123');
  t.is((await call(url, 'POST', jit('h-cd-abc123'))).status, 409);
  t.is((await call(url, 'POST', jit('x', []))).status, 422);
  t.is((await call(url, 'POST', jit('x', Array.from({ length: 101 }, (_, i) => `l${i}`)))).status, 422);
  t.is((await call(url, 'POST', { name: 'x', labels: ['a'] })).status, 422);
  t.is((await call(url, 'POST', jit('x', ['a'], 99))).status, 404);
  const groups = await call(`${emu.apiUrl}/orgs/acme/actions/runner-groups`);
  t.deepEqual(groups.body.runner_groups.map((g: any) => [g.id, g.name, g.default]), [[1, 'Default', true], [2, 'cd', false]]);
  t.is((await call(url, 'POST', jit('y', ['a'], 2))).status, 201);
});

test('runner list: pagination with Link, ?name=, ETag/304 until the content changes', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  for (let i = 0; i < 5; i++) emu.addForeignRunner('org:acme', `r${i}`);
  const base = `${emu.apiUrl}/orgs/acme/actions/runners`;
  const p1 = await call(`${base}?per_page=2`);
  t.is(p1.body.total_count, 5);
  t.deepEqual(p1.body.runners.map((r: any) => r.name), ['r0', 'r1']);
  const link = p1.headers.get('link')!;
  t.regex(link, /<[^>]*\/api\/v3\/orgs\/acme\/actions\/runners\?per_page=2&page=2>; rel="next"/);
  t.regex(link, /page=3>; rel="last"/);
  const p3 = await call(`${base}?per_page=2&page=3`);
  t.deepEqual(p3.body.runners.map((r: any) => r.name), ['r4']);
  t.notRegex(p3.headers.get('link')!, /rel="next"/);
  t.deepEqual((await call(`${base}?name=r3`)).body.runners.map((r: any) => r.name), ['r3']);

  const first = await call(base);
  const etag = first.headers.get('etag')!;
  const before = Number(first.headers.get('x-ratelimit-remaining'));
  const again = await fetch(base, { headers: { ...H, 'if-none-match': etag } });
  t.is(again.status, 304);
  t.is(Number(again.headers.get('x-ratelimit-remaining')), before, '304s are free');
  emu.addForeignRunner('org:acme', 'r5');
  const changed = await fetch(base, { headers: { ...H, 'if-none-match': etag } });
  t.is(changed.status, 200);
  t.not(changed.headers.get('etag'), etag);
});

test('delete: 422 while busy, 204, then 404', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const busy = emu.addForeignRunner('org:acme', 'busy', { busy: true });
  const idle = emu.addForeignRunner('org:acme', 'idle');
  const del = (id: number) => call(`${emu.apiUrl}/orgs/acme/actions/runners/${id}`, 'DELETE');
  const r = await del(busy.id);
  t.is(r.status, 422);
  t.is(r.body.message, 'Bad request - Runner "busy" is still running a job');
  t.is((await del(idle.id)).status, 204);
  t.is((await del(idle.id)).status, 404);
  t.is((await call(`${emu.apiUrl}/orgs/acme/actions/runners/${idle.id}`)).status, 404);
});

test('downloads and latest release point at served tarballs with matching sha256', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const d = await call(`${emu.apiUrl}/orgs/acme/actions/runners/downloads`);
  t.deepEqual(d.body.map((x: any) => `${x.os}-${x.architecture}`), ['linux-x64', 'linux-arm64']);
  for (const x of d.body) {
    const bytes = Buffer.from(await (await fetch(x.download_url)).arrayBuffer());
    t.is(createHash('sha256').update(bytes).digest('hex'), x.sha256_checksum);
  }
  const latest = await call(`${emu.apiUrl}/repos/actions/runner/releases/latest`, 'GET', undefined, {});
  t.is(latest.body.tag_name, 'v2.330.0');
  await emu.publishRunnerVersion('2.331.0');
  t.is((await call(`${emu.apiUrl}/repos/actions/runner/releases/latest`)).body.tag_name, 'v2.331.0');
  t.regex(emu.serveFile('tools/yq', 'x'), /^http:\/\/127\.0\.0\.1:\d+\/_files\/tools\/yq$/);
});

test('GitHub App: a signed JWT buys an installation token usable on its own org only', async (t) => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const emu = await startEmulator({
    orgs: ['acme', 'other'],
    apps: [{ appId: 42, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), installations: [{ id: 7, account: 'acme' }] }],
  });
  t.teardown(() => emu.close());
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const auth = createAppAuth({ appId: 42, privateKey: pem, installationId: 7, request: new Octokit({ baseUrl: emu.apiUrl }).request });
  const { token } = await auth({ type: 'installation' });
  t.is((await call(`${emu.apiUrl}/orgs/acme/actions/runners`, 'GET', undefined, { authorization: `Bearer ${token}` })).status, 200);
  t.is((await call(`${emu.apiUrl}/orgs/other/actions/runners`, 'GET', undefined, { authorization: `token ${token}` })).status, 404);
  t.is((await call(`${emu.apiUrl}/enterprises/ent/actions/runners`, 'GET', undefined, { authorization: `token ${token}` })).status, 403);
  const wrong = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const bad = createAppAuth({ appId: 42, privateKey: wrong, installationId: 7, request: new Octokit({ baseUrl: emu.apiUrl }).request });
  await t.throwsAsync(bad({ type: 'installation' }), { message: /401|JSON web token/ });
});

test('faults: failNext by route, rate limit until a time, request counters', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  emu.faults.failNext(2, 502, 'registration-token');
  const url = `${emu.apiUrl}/orgs/acme/actions/runners/registration-token`;
  t.is((await call(`${emu.apiUrl}/orgs/acme/actions/runners`)).status, 200, 'other routes unaffected');
  t.is((await call(url, 'POST')).status, 502);
  t.is((await call(url, 'POST')).status, 502);
  t.is((await call(url, 'POST')).status, 201);
  const reset = Date.now() + 60_000;
  emu.faults.rateLimitUntil(reset);
  const limited = await fetch(url, { method: 'POST', headers: H });
  t.is(limited.status, 403);
  t.is(limited.headers.get('x-ratelimit-remaining'), '0');
  t.is(limited.headers.get('x-ratelimit-reset'), String(Math.ceil(reset / 1000)));
  emu.faults.clear();
  t.is((await call(url, 'POST')).status, 201);
  const counts = emu.requests().filter((c) => c.route === '/orgs/{org}/actions/runners/registration-token');
  t.deepEqual(counts.map((c) => [c.method, c.status, c.count]).sort(), [['POST', 201, 2], ['POST', 403, 1], ['POST', 502, 2]]);
  emu.faults.delay(150);
  const t0 = Date.now();
  await call(url, 'POST');
  t.true(Date.now() - t0 >= 140);
});

test('every response carries rate-limit headers and remaining decrements', async (t) => {
  const emu = await startEmulator({ rateLimit: 3 });
  t.teardown(() => emu.close());
  const url = `${emu.apiUrl}/orgs/acme/actions/runners`;
  const seen: string[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await fetch(url, { headers: H });
    for (const h of ['limit', 'reset', 'used']) t.truthy(r.headers.get(`x-ratelimit-${h}`));
    seen.push(`${r.status}:${r.headers.get('x-ratelimit-remaining')}`);
  }
  t.deepEqual(seen, ['200:2', '200:1', '200:0', '403:0']);
  t.is(emu.rateLimit().remaining, 0);
});
