import { Writable } from 'node:stream';
import test from 'ava';
import { createLogger } from '../src/log.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, logger: createLogger({ level: 'debug', destination: destination as never }) };
}

test('secret fields are redacted at the depths the daemon logs them', (t) => {
  const { lines, logger } = capture();
  logger.info({ token: 'ghp_top', auth: { token: 'ghp_nested' }, privateKey: '-----BEGIN KEY-----' }, 'a');
  logger.info({ headers: { authorization: 'token ghp_header' }, request: { headers: { authorization: 'Bearer x1' } } }, 'b');
  logger.info({ spec: { secretEnv: { ACTIONS_RUNNER_INPUT_JITCONFIG: 'eyJqaXQ' } }, env: { ACTIONS_RUNNER_INPUT_TOKEN: 'reg-tok' } }, 'c');
  logger.info({ encoded_jit_config: 'eyJlbmM', webhookSecret: 'whs', GITHUB_TOKEN: 'ghp_env' }, 'd');
  const text = lines.join('');
  for (const secret of ['ghp_top', 'ghp_nested', 'BEGIN KEY', 'ghp_header', 'Bearer x1', 'eyJqaXQ', 'reg-tok', 'eyJlbmM', 'whs', 'ghp_env']) {
    t.false(text.includes(secret), secret);
  }
  t.is(lines.length, 4);
  t.true(lines.every((l) => JSON.parse(l).svc === 'runner-fleet'));
  t.regex(text, /\[redacted\]/);
});
