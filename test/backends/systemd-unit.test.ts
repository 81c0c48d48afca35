/**
 * Generated and shipped units, checked by systemd's own tools on this machine:
 * `systemd-analyze verify` must be clean, the daemon's exposure score must stay <= 3.0.
 */
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { credentialsDropIn, installService, SHIPPED_DIR } from '../../src/backends/systemd/service-install.js';
import { parseUnitKeys, renderEnvFile, renderUnit, unitName } from '../../src/backends/systemd/unit.js';
import type { RunnerSpec } from '../../src/backends/types.js';
import { createNotifier } from '../../src/systemd-notify.js';
import { tempDir } from '../helpers/temp.js';

const exec = promisify(execFile);

async function analyze(args: string[], cwd: string): Promise<{ code: number; out: string }> {
  try {
    const r = await exec('systemd-analyze', args, { cwd });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error('systemd-analyze missing: apt-get install systemd');
    return { code: Number(e.code ?? 1), out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

const tmp = (t: ExecutionContext) => tempDir(t, 'rf-unit-');

function spec(root: string, over: Partial<RunnerSpec> = {}): RunnerSpec {
  const name = 'build-01-cd-abc123';
  return {
    name, pool: 'cd', host: 'build-01', root,
    command: [path.join(root, 'bin', 'Runner.Listener'), 'run', 'odd arg $HOME 100% "q" \\'],
    env: { FOO: 'a b "c" %h $X\\y', PATH: '/usr/local/bin:/usr/bin:/bin' },
    secretEnv: { ACTIONS_RUNNER_INPUT_JITCONFIG: 'c2VjcmV0' },
    mounts: [{ source: '/opt/tools', target: '/opt/tools', readOnly: true }],
    ephemeral: true, network: { dns: [], extraHosts: {} }, systemd: { user: 'root' }, ...over,
  };
}

for (const ephemeral of [true, false]) {
  test(`generated runner unit (${ephemeral ? 'ephemeral' : 'persistent'}) passes systemd-analyze verify`, async (t) => {
    const dir = await tmp(t);
    const root = path.join(dir, 'runners', 'build-01-cd-abc123');
    await mkdir(path.join(root, 'bin'), { recursive: true });
    await writeFile(path.join(root, 'bin', 'Runner.Listener'), '#!/bin/sh\n');
    await chmod(path.join(root, 'bin', 'Runner.Listener'), 0o755);
    const s = spec(root, { ephemeral });
    const text = renderUnit(s, { envFile: `/run/runner-fleet/${s.name}.env`, hosts: '/run/runner-fleet/x/hosts' }, { home: '/root', stopTimeoutSec: 30 });
    const file = path.join(dir, unitName(s.name));
    await writeFile(file, text);
    const r = await analyze(['verify', `./${path.basename(file)}`], dir);
    t.is(r.code, 0, r.out);
    t.is(r.out.trim(), '', 'no warnings');
    t.false(text.includes('c2VjcmV0'), 'secrets never in the unit file');
    t.regex(text, ephemeral ? /^Restart=no$/m : /^RestartPreventExitStatus=1 5 7$/m);
    t.deepEqual(parseUnitKeys(text), { host: 'build-01', pool: 'cd', runner: s.name });
  });
}

test('a runner root in /tmp turns PrivateTmp off; a non-root user loses setuid escalation', (t) => {
  const tmpRoot = renderUnit(spec('/tmp/x/r'), { envFile: '/run/e' }, { stopTimeoutSec: 5 });
  t.regex(tmpRoot, /^PrivateTmp=no$/m);
  t.notRegex(tmpRoot, /^NoNewPrivileges=yes$/m);
  const user = renderUnit(spec('/var/lib/rf/r', { systemd: { user: 'runner' } }), { envFile: '/run/e' }, { home: '/home/runner', stopTimeoutSec: 5 });
  t.regex(user, /^PrivateTmp=yes$/m);
  t.regex(user, /^NoNewPrivileges=yes$/m);
  t.regex(user, /^ReadWritePaths=-\/var\/lib\/rf\/r -\/home\/runner$/m);
});

test('the host id rides in the unit (X-RunnerFleetHostId); anything but hex is left out', (t) => {
  const withId = renderUnit(spec('/var/lib/rf/r', { hostId: '0123456789abcdef' }), { envFile: '/run/e' }, { stopTimeoutSec: 5 });
  t.true(withId.split('\n').includes('X-RunnerFleetHostId=0123456789abcdef'));
  const bad = renderUnit(spec('/var/lib/rf/r', { hostId: 'x\nExecStartPre=/bin/evil' }), { envFile: '/run/e' }, { stopTimeoutSec: 5 });
  t.false(bad.includes('evil'));
});

test('env file quoting keeps values verbatim for systemd', (t) => {
  t.is(renderEnvFile({ A: 'x"y$z`w\\v', B: 'multi\nline' }), 'A="x\\"y\\$z\\`w\\\\v"\nB="multi\nline"\n');
  t.throws(() => renderEnvFile({ 'BAD NAME': 'x' }));
});

test('the shipped daemon unit and its drop-in verify clean; docker-host exposure <= 3.0', async (t) => {
  const dir = await tmp(t);
  const bin = path.join(dir, 'runner-fleet');
  await writeFile(bin, '#!/bin/sh\n');
  await chmod(bin, 0o755);
  const unitDir = path.join(dir, 'units');
  // ExecStart must exist for verify: point it at a stand-in binary.
  await installService({ unitDir, reload: false, bin, systemdBackend: false, credentialsDir: path.join(dir, 'nocreds') });
  const unit = path.join(unitDir, 'runner-fleet.service');
  const v = await analyze(['verify', './runner-fleet.service'], unitDir);
  t.is(v.code, 0, v.out);
  const s = await analyze(['security', '--offline=yes', '--no-pager', './runner-fleet.service'], unitDir);
  const score = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(s.out)?.[1]);
  t.true(score <= 3.0, `exposure ${score}`);
  t.regex(await readFile(unit, 'utf8'), new RegExp(`^ExecStart=${bin} daemon -c /etc/runner-fleet/config.yaml$`, 'm'));
});

test('install-service is idempotent and follows pools and credentials', async (t) => {
  const dir = await tmp(t);
  const unitDir = path.join(dir, 'units');
  const creds = path.join(dir, 'creds');
  await mkdir(creds);
  await writeFile(path.join(creds, 'github-token'), 'x');
  const o = { unitDir, reload: false, credentialsDir: creds, shippedDir: SHIPPED_DIR };
  const first = await installService({ ...o, systemdBackend: false });
  t.deepEqual(first.changed, [path.join(unitDir, 'runner-fleet.service')]);
  t.deepEqual((await installService({ ...o, systemdBackend: false })).changed, []);
  const withBackend = await installService({ ...o, systemdBackend: true });
  t.deepEqual(withBackend.changed, [path.join(unitDir, 'runner-fleet.service.d', 'systemd-backend.conf')]);
  const withProcessUser = await installService({ ...o, systemdBackend: true, processUser: true });
  t.deepEqual(withProcessUser.changed, [path.join(unitDir, 'runner-fleet.service.d', 'process-user.conf')]);
  t.regex(await readFile(path.join(unitDir, 'runner-fleet.service.d', 'process-user.conf'), 'utf8'), /^CapabilityBoundingSet=CAP_SETUID CAP_SETGID /m);
  t.deepEqual((await installService({ ...o, systemdBackend: true })).changed, [path.join(unitDir, 'runner-fleet.service.d', 'process-user.conf')], 'removed again');
  await writeFile(path.join(creds, 'github-app.pem'), 'k');
  const withApp = await installService({ ...o, systemdBackend: false });
  t.is(withApp.changed.length, 2, 'backend drop-in removed, credentials drop-in written');
  const conf = await readFile(path.join(unitDir, 'runner-fleet.service.d', 'credentials.conf'), 'utf8');
  t.regex(conf, /^LoadCredential=$/m);
  t.regex(conf, /^LoadCredential=github-app\.pem:/m);
  t.is(credentialsDropIn(['github-token'], creds), undefined);
});

test('sd_notify: no-op outside systemd; ordered through systemd-notify inside', async (t) => {
  const calls: string[][] = [];
  const outside = createNotifier({ env: {}, run: async (_f, a) => void calls.push(a) });
  t.false(await outside.notify('READY=1'));
  const inside = createNotifier({
    env: { NOTIFY_SOCKET: '/run/systemd/notify' },
    run: async (f, a, env) => {
      t.is(f, 'systemd-notify');
      t.is(env.NOTIFY_SOCKET, '/run/systemd/notify');
      await new Promise((r) => setTimeout(r, a[0] === 'READY=1' ? 20 : 0));
      calls.push(a);
    },
  });
  await Promise.all([inside.notify('READY=1'), inside.notify('STOPPING=1')]);
  t.deepEqual(calls, [['READY=1'], ['STOPPING=1']]);
  const failing = createNotifier({ env: { NOTIFY_SOCKET: 'x' }, run: async () => Promise.reject(new Error('nope')) });
  t.false(await failing.notify('READY=1'));
});
