import test from 'ava';
import { isFleetError } from '../../src/errors.js';
import { createGitHubClient } from '../../src/github/index.js';
import type { Scope } from '../../src/github/types.js';
import { silentLogger } from '../../src/log.js';
import { emuCount, setup } from './helpers.js';

const ORG: Scope = { kind: 'org', org: 'acme' };
const REPO: Scope = { kind: 'repo', owner: 'acme', repo: 'app' };
const ENT: Scope = { kind: 'enterprise', enterprise: 'ent' };

test('JIT config registers an ephemeral runner with the labels sent; a duplicate name is GITHUB_CONFLICT', async (t) => {
  const { emu, client } = await setup(t);
  const group = await client.service.runnerGroup(ORG, 'default');
  t.like(group, { id: 1, name: 'Default', isDefault: true });
  const labels = ['self-hosted', 'linux', 'x64', 'cd'];
  const jit = await client.service.jitConfig(ORG, { name: 'h-cd-abc123', labels, runnerGroupId: group.id });
  const files = JSON.parse(Buffer.from(jit.encoded, 'base64').toString('utf8')) as Record<string, string>;
  t.true('.runner' in files);
  const r = emu.runners().find((x) => x.id === jit.runnerId);
  t.like(r, { name: 'h-cd-abc123', ephemeral: true, scopeKey: 'org:acme' });
  t.deepEqual(r?.labels.map((l) => l.toLowerCase()).sort(), [...labels].sort());

  const err = await t.throwsAsync(client.service.jitConfig(ORG, { name: 'h-cd-abc123', labels, runnerGroupId: 1 }));
  t.true(isFleetError(err, 'GITHUB_CONFLICT'));
  t.true(isFleetError(await t.throwsAsync(client.service.jitConfig(ORG, { name: 'x', labels, runnerGroupId: 999 })), 'GITHUB_NOT_FOUND'));
});

test('registration and remove tokens map expires_at to epoch ms', async (t) => {
  const { client, clock } = await setup(t);
  for (const scope of [ORG, REPO, ENT]) {
    const reg = await client.service.registrationToken(scope);
    t.true(reg.token.length > 0);
    t.is(reg.expiresAt, Math.floor((clock.now() + 3_600_000) / 1000) * 1000);
    const rem = await client.service.removeToken(scope);
    t.not(rem.token, reg.token);
  }
  t.is(client.stats.count('POST /repos/{owner}/{repo}/actions/runners/registration-token', 201), 1);
  t.is(client.stats.count('POST /enterprises/{enterprise}/actions/runners/remove-token', 201), 1);
});

test('runner list: the second call is a 304 from the ETag and costs no rate limit', async (t) => {
  const { emu, client } = await setup(t);
  emu.addForeignRunner('org:acme', 'other-1');
  const first = await client.service.listRunners(ORG);
  t.deepEqual(first.map((r) => r.name), ['other-1']);
  t.like(first[0], { status: 'online', busy: false, os: 'linux' });
  t.true(first[0]!.labels.includes('self-hosted'));
  const limited = client.stats.rateLimited();

  const second = await client.service.listRunners(ORG);
  t.deepEqual(second, first);
  t.is(client.stats.count('GET /orgs/{org}/actions/runners', 304), 1);
  t.is(client.stats.rateLimited(), limited);
  t.is(emuCount(emu, 'GET', '/orgs/{org}/actions/runners', 304), 1);

  emu.addForeignRunner('org:acme', 'other-2');
  t.deepEqual((await client.service.listRunners(ORG)).map((r) => r.name), ['other-1', 'other-2']);
  t.is(client.stats.rateLimited(), limited + 1);
  t.is(typeof client.stats.rateLimitRemaining(), 'number');
});

test('runner list paginates 150 runners by Link header, 100 per page, each page conditional', async (t) => {
  const { emu, client } = await setup(t);
  for (let i = 0; i < 150; i++) emu.addForeignRunner('org:acme', `foreign-${i}`);
  const all = await client.service.listRunners(ORG);
  t.is(all.length, 150);
  t.is(new Set(all.map((r) => r.id)).size, 150);
  t.is(client.stats.count('GET /orgs/{org}/actions/runners', 200), 2);
  t.is((await client.service.listRunners(ORG)).length, 150);
  t.is(client.stats.count('GET /orgs/{org}/actions/runners', 304), 2);
  t.is(client.stats.rateLimited(), 2);
});

test('delete: idle → deleted, busy → busy (422), missing → gone (404); getRunner of a missing one is null', async (t) => {
  const { emu, client } = await setup(t);
  const idle = emu.addForeignRunner('org:acme', 'idle-1');
  const busy = emu.addForeignRunner('org:acme', 'busy-1', { busy: true });
  t.is((await client.service.getRunner(ORG, idle.id))?.name, 'idle-1');
  t.is(await client.service.deleteRunner(ORG, busy.id), 'busy');
  t.is(await client.service.deleteRunner(ORG, idle.id), 'deleted');
  t.is(await client.service.deleteRunner(ORG, idle.id), 'gone');
  t.is(await client.service.getRunner(ORG, idle.id), null);
  t.is(client.stats.count('DELETE /orgs/{org}/actions/runners/{runner_id}', 422), 1);
});

test('runner groups per scope kind', async (t) => {
  const { client } = await setup(t, { runnerGroups: [{ org: 'acme', name: 'Deploy', allowsPublicRepositories: true }] });
  t.like(await client.service.runnerGroup(ORG, 'deploy'), { name: 'Deploy', allowsPublicRepositories: true, isDefault: false });
  t.true(isFleetError(await t.throwsAsync(client.service.runnerGroup(ORG, 'nope')), 'GITHUB_NOT_FOUND'));
  t.like(await client.service.runnerGroup(REPO, 'Default'), { id: 1, isDefault: true });
  t.true(isFleetError(await t.throwsAsync(client.service.runnerGroup(REPO, 'Deploy')), 'GITHUB_NOT_FOUND'));
  t.like(await client.service.runnerGroup(ENT, 'Default'), { id: 1, isDefault: true });
});

test('repository visibility and runner downloads', async (t) => {
  const { client } = await setup(t, { repos: [{ fullName: 'acme/app', visibility: 'private' }, { fullName: 'acme/site', visibility: 'public' }] });
  t.is(await client.service.repoVisibility('acme', 'app'), 'private');
  t.is(await client.service.repoVisibility('acme', 'site'), 'public');
  t.true(isFleetError(await t.throwsAsync(client.service.repoVisibility('acme', 'missing')), 'GITHUB_NOT_FOUND'));
  const dl = await client.service.downloads(ORG);
  const linux = dl.find((d) => d.os === 'linux' && d.architecture === 'x64');
  t.truthy(linux);
  t.regex(linux!.filename, /^actions-runner-linux-x64-2\.330\.0\.tar\.gz$/);
  t.regex(linux!.sha256 ?? '', /^[0-9a-f]{64}$/);
  t.regex(linux!.downloadUrl, /^http:\/\/127\.0\.0\.1:\d+\//);
});

test('works at the API root as well as under the GHES /api/v3 prefix; stats routes are templated either way', async (t) => {
  const { emu, client } = await setup(t);
  const root = createGitHubClient({ apiUrl: emu.url, auth: { kind: 'token', token: 'test-pat' }, logger: silentLogger(), writeIntervalMs: 0 });
  await root.service.registrationToken(ORG);
  await client.service.registrationToken(ORG);
  for (const c of [root, client]) {
    t.deepEqual(c.stats.byRoute(), [{ route: 'POST /orgs/{org}/actions/runners/registration-token', status: 201, count: 1 }]);
  }
});

test('errors carry codes: bad credentials → GITHUB_AUTH, plain 403 → GITHUB_AUTH, unknown org → GITHUB_NOT_FOUND', async (t) => {
  const { emu, client } = await setup(t);
  const bad = createGitHubClient({ apiUrl: emu.apiUrl, auth: { kind: 'token', token: 'wrong' }, logger: silentLogger() });
  t.true(isFleetError(await t.throwsAsync(bad.service.listRunners(ORG)), 'GITHUB_AUTH'));
  emu.faults.failNext(1, 403);
  t.true(isFleetError(await t.throwsAsync(client.service.registrationToken(ORG)), 'GITHUB_AUTH'));
  t.true(isFleetError(await t.throwsAsync(client.service.listRunners({ kind: 'org', org: 'nobody' })), 'GITHUB_NOT_FOUND'));
  t.is(client.stats.count('POST /orgs/{org}/actions/runners/registration-token', 403), 1, 'a permission 403 is not retried');
});

test('request stats by templated route and status; onRequest sees each attempt; a custom fetch is used', async (t) => {
  const seen: string[] = [];
  let fetches = 0;
  const countingFetch: typeof fetch = (input, init) => {
    fetches++;
    return fetch(input, init);
  };
  const { emu, client } = await setup(t, {}, { onRequest: (r) => seen.push(`${r.method} ${r.route} ${r.status}`), fetch: countingFetch });
  emu.faults.failNext(1, 502, 'generate-jitconfig');
  await client.service.jitConfig(ORG, { name: 'h-cd-zzzzzz', labels: ['self-hosted'], runnerGroupId: 1 });
  await client.service.listRunners(ORG);
  t.deepEqual(seen, [
    'POST /orgs/{org}/actions/runners/generate-jitconfig 502',
    'POST /orgs/{org}/actions/runners/generate-jitconfig 201',
    'GET /orgs/{org}/actions/runners 200',
  ]);
  t.deepEqual(client.stats.byRoute(), [
    { route: 'GET /orgs/{org}/actions/runners', status: 200, count: 1 },
    { route: 'POST /orgs/{org}/actions/runners/generate-jitconfig', status: 201, count: 1 },
    { route: 'POST /orgs/{org}/actions/runners/generate-jitconfig', status: 502, count: 1 },
  ]);
  t.is(client.stats.total(), 3);
  t.is(fetches, 3);
});

test('mutating requests beyond the burst are spaced by writeIntervalMs', async (t) => {
  const { client } = await setup(t, {}, { writeIntervalMs: 150, writeBurst: 1 });
  const t0 = Date.now();
  await Promise.all([1, 2, 3].map(() => client.service.registrationToken(ORG)));
  t.true(Date.now() - t0 >= 300);
});
