import test from 'ava';
import { check, MINIMAL } from './helpers.js';

const SCALE = MINIMAL.replace('size: 1', 'scale: { minIdle: 0, max: 3 }');

test('a pool scaled by webhooks without api.webhookSecret (POST /webhook off) is a validate warning at its scale key; with a secret, or via scaleset, none', (t) => {
  const off = check(SCALE);
  t.deepEqual(off.issues, []);
  t.true((off.warnings ?? []).some((w) => w.path === 'pools[0].scale'), JSON.stringify(off.warnings));
  const on = check(SCALE + 'api: { webhookSecret: s3cret }\n');
  t.false((on.warnings ?? []).some((w) => w.path === 'pools[0].scale'), JSON.stringify(on.warnings));
  const scaleSet = check(MINIMAL.replace('size: 1', 'scale: { max: 3, via: scaleset }'));
  t.false((scaleSet.warnings ?? []).some((w) => w.path === 'pools[0].scale'));
  t.false((check(MINIMAL).warnings ?? []).some((w) => w.path.startsWith('pools[0].s')));
});
