import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import test from 'ava';
import { isFleetError } from '../../src/errors.js';
import { createGitHubClient } from '../../src/github/index.js';
import type { Scope } from '../../src/github/types.js';
import { silentLogger } from '../../src/log.js';
import { ManualClock } from '../../src/clock.js';
import { emuCount, setup, until } from './helpers.js';

const ORG: Scope = { kind: 'org', org: 'acme' };
const LIST = 'GET /orgs/{org}/actions/runners';

test('rate limited: the client waits on its clock until the reset, then retries once', async (t) => {
  const { emu, client, clock } = await setup(t);
  emu.faults.rateLimitUntil(clock.now() + 5000);
  let settled = false;
  const p = client.service.listRunners(ORG).finally(() => (settled = true));

  await until(() => client.stats.count(LIST, 403) === 1);
  await new Promise((r) => setTimeout(r, 100)); // plenty of real time for a hot retry to show up
  t.false(settled, 'still waiting for the reset');
  t.is(client.stats.total(), 1);
  t.true(client.rateLimitedUntil() >= clock.now() + 5000);

  clock.advance(3000); // not there yet
  await new Promise((r) => setTimeout(r, 50));
  t.false(settled);
  clock.advance(4000);
  t.deepEqual(await p, []);
  t.is(client.stats.count(LIST, 403), 1);
  t.is(client.stats.count(LIST, 200), 1);
  t.is(emuCount(emu, 'GET', '/orgs/{org}/actions/runners', 403), 1);
  t.is(client.rateLimitedUntil(), 0);
});

test('a rate limit resetting later than maxRateLimitWaitMs fails GITHUB_RATE_LIMITED without hammering', async (t) => {
  const { emu, client, clock } = await setup(t, {}, { maxRateLimitWaitMs: 60_000 });
  emu.faults.rateLimitUntil(clock.now() + 30 * 60_000);
  t.true(isFleetError(await t.throwsAsync(client.service.registrationToken(ORG)), 'GITHUB_RATE_LIMITED'));
  // Later calls fail at once while the limit lasts: nothing more is sent.
  t.true(isFleetError(await t.throwsAsync(client.service.listRunners(ORG)), 'GITHUB_RATE_LIMITED'));
  t.is(client.stats.total(), 1);
});

test('a 5xx burst is retried with backoff; a longer outage surfaces as GITHUB_REQUEST', async (t) => {
  const { emu, client } = await setup(t);
  const route = 'POST /orgs/{org}/actions/runners/registration-token';
  emu.faults.failNext(2, 500);
  const tok = await client.service.registrationToken(ORG);
  t.truthy(tok.token);
  t.is(client.stats.count(route, 500), 2);
  t.is(client.stats.count(route, 201), 1);

  emu.faults.failNext(10, 503);
  t.true(isFleetError(await t.throwsAsync(client.service.registrationToken(ORG)), 'GITHUB_REQUEST'));
  t.is(client.stats.count(route, 503), 4, 'first try + 3 retries');
  emu.faults.clear();
});

test('a connection failure is status 0 in stats, retried, then GITHUB_REQUEST', async (t) => {
  const { emu } = await setup(t);
  const port = new URL(emu.url).port;
  await emu.close();
  const client = createGitHubClient({ apiUrl: `http://127.0.0.1:${port}/api/v3`, auth: { kind: 'token', token: 'x' }, logger: silentLogger(), retryBaseMs: 1 });
  t.true(isFleetError(await t.throwsAsync(client.service.listRunners(ORG)), 'GITHUB_REQUEST'));
  t.is(client.stats.count(LIST, 0), 4);
  t.is(client.stats.rateLimited(), 0);
});

test('GitHub App auth: installation token fetched once, renewed before it expires by the clock', async (t) => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  const { emu, client, clock } = await setup(
    t,
    { apps: [{ appId: 4242, publicKeyPem: publicKey, installations: [{ id: 77, account: 'acme' }] }] },
    { auth: { kind: 'app', appId: 4242, installationId: 77, privateKey } },
  );
  const tokens = () => emuCount(emu, 'POST', '/app/installations/{installation_id}/access_tokens', 201);
  await client.service.registrationToken(ORG);
  await client.service.listRunners(ORG);
  t.is(tokens(), 1);
  t.is(client.stats.count('POST /app/installations/{installation_id}/access_tokens', 201), 1);

  clock.advance(50 * 60_000); // 10 min left: still used
  await client.service.listRunners(ORG);
  t.is(tokens(), 1);
  clock.advance(6 * 60_000); // 4 min left: renewed first
  await client.service.jitConfig(ORG, { name: 'h-cd-app001', labels: ['self-hosted'], runnerGroupId: 1 });
  t.is(tokens(), 2);
  clock.advance(6 * 60_000); // the first token has expired; everything still works
  t.is((await client.service.listRunners(ORG)).length, 1);
  t.is(emuCount(emu, 'GET', '/orgs/{org}/actions/runners', 401), 0);
  // Enterprise routes are not available to apps.
  t.true(isFleetError(await t.throwsAsync(client.service.listRunners({ kind: 'enterprise', enterprise: 'ent' })), 'GITHUB_AUTH'));
});

test('tokens and authorization headers never reach the log', async (t) => {
  const { emu, client, lines } = await setup(t);
  const tok = await client.service.registrationToken(ORG);
  await client.service.listRunners(ORG);
  emu.faults.failNext(1, 500);
  await client.service.listRunners(ORG);
  await t.throwsAsync(client.service.listRunners({ kind: 'org', org: 'nobody' }));
  const log = lines.join('\n');
  t.true(log.includes('/orgs/{org}/actions/runners'), 'routes are logged');
  t.false(log.includes('test-pat'));
  t.false(log.includes(tok.token));
  t.false(/authorization/i.test(log));
});

test('secondary rate limit: waits retry-after seconds on the clock, then retries', async (t) => {
  // GitHub's secondary-limit answer, from a minimal real server (the emulator only does primary limits).
  let calls = 0;
  const server = http.createServer((_req, res) => {
    calls++;
    if (calls === 1) {
      res.writeHead(403, { 'content-type': 'application/json', 'retry-after': '30', 'x-ratelimit-remaining': '4000' });
      res.end(JSON.stringify({ message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.' }));
    } else {
      res.writeHead(200, { 'content-type': 'application/json', etag: '"e1"' });
      res.end(JSON.stringify({ total_count: 0, runners: [] }));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const clock = new ManualClock(Date.now());
  const client = createGitHubClient({
    apiUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}/api/v3`,
    auth: { kind: 'token', token: 'x' },
    logger: silentLogger(),
    clock,
  });
  let settled = false;
  const p = client.service.listRunners(ORG).finally(() => (settled = true));
  await until(() => calls === 1);
  await new Promise((r) => setTimeout(r, 100));
  t.false(settled);
  clock.advance(29_000);
  await new Promise((r) => setTimeout(r, 50));
  t.false(settled);
  clock.advance(2_000);
  t.deepEqual(await p, []);
  t.is(calls, 2);
});
