import test, { type ExecutionContext } from 'ava';
import { isFleetError } from '../../src/errors.js';
import { TokenCache, withTokenCache } from '../../src/github/index.js';
import type { Scope } from '../../src/github/types.js';
import { openStore } from '../../src/store/index.js';
import { emuCount, setup } from './helpers.js';
import { tempDir } from '../helpers/temp.js';

const ORG: Scope = { kind: 'org', org: 'acme' };
const REPO: Scope = { kind: 'repo', owner: 'acme', repo: 'app' };
const MIN = 60_000;
const REG = '/orgs/{org}/actions/runners/registration-token';

async function tempStore(t: ExecutionContext) {
  const store = openStore(await tempDir(t, 'rf-tokens-'));
  t.teardown(() => store.close());
  return store;
}

test('a start reuses the cached token while it is valid for the start; the schedule renews it under 30 minutes', async (t) => {
  const { emu, client, clock } = await setup(t);
  const store = await tempStore(t);
  const cache = new TokenCache({ store, service: client.service, clock });

  const first = await cache.get(ORG);
  t.is((await cache.get(ORG)).token, first.token);
  t.is(emuCount(emu, 'POST', REG), 1, 'second get does not call GitHub');
  t.is(store.tokens.get('org:acme', 'registration')?.token, first.token, 'kept in the 0600 store');

  clock.advance(31 * MIN); // 29 min left: due for the schedule, still good for a start
  t.is((await cache.get(ORG)).token, first.token);
  clock.advance(26 * MIN); // 3 min left
  t.is((await cache.get(ORG)).token, first.token, 'a start only needs a few seconds');
  t.is(emuCount(emu, 'POST', REG), 1, 'no call per start while the token is valid');
  clock.advance(90_000); // 90 s left: too close for config.sh
  const second = await cache.get(ORG);
  t.not(second.token, first.token);
  t.is(emuCount(emu, 'POST', REG), 2);

  clock.advance(31 * MIN);
  const [r] = await cache.refreshDue([ORG]);
  t.true(r!.refreshed, 'the schedule renews a token with under 30 minutes left');
  t.is(emuCount(emu, 'POST', REG), 3);
});

test('a scheduled refresh and starts asking together share one request', async (t) => {
  const { emu, client, clock } = await setup(t);
  const store = await tempStore(t);
  const cache = new TokenCache({ store, service: client.service, clock });
  const [refreshed, ...gets] = await Promise.all([cache.refreshDue([ORG, ORG]), cache.get(ORG), cache.get(ORG)]);
  t.is(emuCount(emu, 'POST', REG), 1);
  t.is(refreshed.length, 1);
  t.is(new Set(gets.map((g) => g.token)).size, 1);
});

test('a restart reuses the stored token; concurrent gets share one request', async (t) => {
  const { emu, client, clock } = await setup(t);
  const store = await tempStore(t);
  const one = new TokenCache({ store, service: client.service, clock });
  const gets = await Promise.all([one.get(ORG), one.get(ORG), one.get(ORG)]);
  t.is(new Set(gets.map((g) => g.token)).size, 1);
  t.is(emuCount(emu, 'POST', REG), 1);
  const restarted = new TokenCache({ store, service: client.service, clock });
  t.is((await restarted.get(ORG)).token, gets[0]!.token);
  t.is(emuCount(emu, 'POST', REG), 1);
});

test('refreshDue renews only what is due, reports failures per scope, and expiries never show tokens', async (t) => {
  const { emu, client, clock } = await setup(t);
  const store = await tempStore(t);
  const cache = new TokenCache({ store, service: client.service, clock });
  const missing: Scope = { kind: 'org', org: 'nobody' };

  const r1 = await cache.refreshDue([ORG, REPO, ORG, missing]);
  t.deepEqual(r1.map((r) => [r.scopeKey, r.refreshed]), [['org:acme', true], ['repo:acme/app', true], ['org:nobody', false]]);
  t.regex(r1[2]!.error ?? '', /GITHUB_NOT_FOUND/);

  const r2 = await cache.refreshDue([ORG, REPO]);
  t.true(r2.every((r) => !r.refreshed && !r.error));
  t.is(emuCount(emu, 'POST', REG, 201), 1);

  clock.advance(31 * MIN);
  const r3 = await cache.refreshDue([ORG]);
  t.true(r3[0]!.refreshed);
  t.is(emuCount(emu, 'POST', REG, 201), 2);

  const exp = cache.expiries();
  t.deepEqual(exp.map((e) => e.scopeKey), ['org:acme', 'repo:acme/app']);
  t.false(JSON.stringify(exp).includes(store.tokens.get('org:acme', 'registration')!.token));
  t.is(exp[0]!.expiresAt, store.tokens.get('org:acme', 'registration')!.expiresAt);
});

test('withTokenCache serves the service\'s tokens from the cache, remove tokens too', async (t) => {
  const { emu, client } = await setup(t);
  const store = await tempStore(t);
  const svc = withTokenCache(client.service, new TokenCache({ store, service: client.service }));
  const a = await svc.registrationToken(ORG);
  t.is((await svc.registrationToken(ORG)).token, a.token);
  const r = await svc.removeToken(ORG);
  t.is((await svc.removeToken(ORG)).token, r.token);
  t.is(emuCount(emu, 'POST', REG), 1);
  t.is(emuCount(emu, 'POST', '/orgs/{org}/actions/runners/remove-token'), 1);
  t.true(isFleetError(await t.throwsAsync(svc.registrationToken({ kind: 'org', org: 'nobody' })), 'GITHUB_NOT_FOUND'));
});
