/**
 * The Backend contract against a real systemd (PID 1 in a container, test/helpers/systemd-host.ts),
 * then what only systemd does: a non-root job user, secrets outside the unit file, the restart
 * policy from the Listener's exit codes, journal logs.
 */
import test, { type ExecutionContext } from 'ava';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createSystemdBackend } from '../../src/backends/systemd/index.js';
import type { Backend, RunnerSpec } from '../../src/backends/types.js';
import { isFleetError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { requireSystemdHost, startSystemdHost, type SystemdHost } from '../helpers/systemd-host.js';
import { requireDocker } from '../helpers/engines.js';
import { until } from '../helpers/poll.js';
import { backendContract } from './contract.js';

// Every temp dir of this file (the contract's data dirs too) lives under one dir that the
// container mounts at the same path, so runner roots resolve identically inside.
const SHARED = mkdtempSync(path.join('/tmp', 'rf-sd-'));
process.env.TMPDIR = SHARED;
// mkdtemp makes 0700; the non-root job user inside the container must traverse to its root.
chmodSync(SHARED, 0o755);
mkdirSync(path.join(SHARED, 'runners'), { mode: 0o755 });

let hostP: Promise<SystemdHost> | undefined;
async function shared(t: ExecutionContext): Promise<SystemdHost | undefined> {
  if (!(await requireDocker(t))) return undefined;
  // The job user `runner` is made once, here: tests run concurrently, and two `id || useradd`
  // racing each other make the loser fail with "already exists".
  hostP ??= startSystemdHost({ mounts: [SHARED] }).then(async (h) => {
    await h.sh('id runner >/dev/null 2>&1 || useradd --system --create-home --shell /bin/bash runner');
    return h;
  });
  return hostP;
}
test.after.always(async () => {
  if (hostP) await (await hostP.catch(() => undefined))?.close();
  rmSync(SHARED, { recursive: true, force: true });
});

let sd: SystemdHost | undefined;
const make = (host: string, extra: Partial<Parameters<typeof createSystemdBackend>[0]> = {}): Backend => {
  if (!sd) throw new Error('systemd host not ready');
  return createSystemdBackend({ host, logger: silentLogger(), run: sd.run, files: sd.files, pollMs: 200, stopPollMs: 100, ...extra });
};

backendContract(test, 'systemd', make, (base) => ({ ...base, systemd: { user: 'root' } }), {
  timeoutMs: 30_000,
  async ready(t) {
    sd = await shared(t);
    return sd !== undefined;
  },
  async foreign(runnerName) {
    const unit = `runner-fleet-${runnerName}.service`;
    const h = sd!;
    await h.sh(
      `printf '[Service]\\nExecStart=/bin/sleep 300\\n' > /etc/systemd/system/${unit} && systemctl daemon-reload && systemctl start ${unit}`,
    );
    return {
      exists: async () => (await h.exec(['systemctl', 'is-active', unit])).stdout.trim() === 'active',
      remove: async () => {
        await h.sh(`systemctl stop ${unit}; rm -f /etc/systemd/system/${unit}; systemctl daemon-reload`);
      },
    };
  },
});

let n = 0;
async function setup(t: ExecutionContext, extra: Partial<RunnerSpec> & { script?: string } = {}) {
  sd = await shared(t);
  if (!sd) return undefined;
  const host = `sd${process.pid}x${n++}`;
  const backend = make(host);
  const name = `${host}-cd-${Math.random().toString(36).slice(2, 10).padEnd(6, '0')}`;
  // A traversable root (not the 0700 mkdtemp dir) so a non-root job user can reach it.
  const root = path.join(SHARED, 'runners', name);
  mkdirSync(root, { recursive: true });
  const { script, ...rest } = extra;
  const spec: RunnerSpec = {
    name, pool: 'cd', host, root,
    command: ['/bin/sh', '-c', script ?? 'exec sleep 300'],
    env: { FOO: 'foo' }, secretEnv: { SECRET_X: 's3cr3t-value' }, mounts: [], ephemeral: true,
    network: { dns: [], extraHosts: {} }, systemd: { user: 'root' }, ...rest,
  };
  t.teardown(async () => {
    await backend.destroy(name, { graceMs: 0 }).catch(() => undefined);
    await backend.close?.();
  });
  return { sd, backend, spec, unit: `runner-fleet-${name}.service` };
}

const state = async (b: Backend, name: string) => (await b.list()).find((r) => r.name === name);

test('a non-root job user (isolation: shared) owns its root; secrets are in a 0600 root env file, not in the unit', async (t) => {
  const c = await setup(t, { systemd: { user: 'runner', isolation: 'shared' }, script: 'id -un > out; echo "$SECRET_X:$FOO" >> out; exec sleep 300' });
  if (!c) return;
  await c.backend.create(c.spec);
  const out = await until(async () => {
    const r = await c.sd.exec(['cat', path.join(c.spec.root, 'out')]);
    return r.code === 0 && r.stdout.split('\n').length > 2 ? r.stdout : undefined;
  }, 30_000, 'out');
  t.is(out, 'runner\ns3cr3t-value:foo\n');
  const unitText = await c.sd.sh(`cat /etc/systemd/system/${c.unit}`);
  t.false(unitText.includes('s3cr3t-value'));
  t.is((await c.sd.sh(`stat -c '%a %U' /run/runner-fleet/${c.spec.name}.env`)).trim(), '600 root');
  t.is((await c.sd.sh(`stat -c '%U' ${c.spec.root}`)).trim(), 'runner');
  // `systemctl show` is readable by anyone: the secret must not be there either.
  t.false((await c.sd.sh(`systemctl show ${c.unit}`)).includes('s3cr3t-value'));
});

test('systemd.sudo gives jobs setuid back (NoNewPrivileges off); without it a job has no new privileges', async (t) => {
  for (const sudo of [false, true]) {
    const c = await setup(t, { systemd: { user: 'runner', ...(sudo ? { sudo } : {}) }, script: 'grep -E "^NoNewPrivs:" /proc/self/status > out; exec sleep 300' });
    if (!c) return;
    await c.backend.create(c.spec);
    const out = await until(async () => {
      const r = await c.sd.exec(['cat', path.join(c.spec.root, 'out')]);
      return r.code === 0 && r.stdout.includes('NoNewPrivs') ? r.stdout : undefined;
    }, 30_000, 'out');
    t.regex(out, sudo ? /^NoNewPrivs:\s+0$/m : /^NoNewPrivs:\s+1$/m, `sudo ${sudo}`);
    await c.backend.destroy(c.spec.name, { graceMs: 0 });
  }
});

test('persistent: exit 2 restarts the runner; exit 1 stops it and is listed with its code', async (t) => {
  const c = await setup(t, {
    ephemeral: false,
    // First start exits 2 (retryable), the restart exits 1 (terminated: the daemon decides).
    script: 'if [ -f tried ]; then echo second >> log; exit 1; fi; touch tried; echo first >> log; exit 2',
  });
  if (!c) return;
  await c.backend.create(c.spec);
  const r = await until(async () => {
    const s = await state(c.backend, c.spec.name);
    return s?.state === 'exited' && s.exitCode === 1 ? s : undefined;
  }, 30_000, 'exited 1');
  t.is(r.exitCode, 1);
  t.is(await c.sd.sh(`cat ${c.spec.root}/log`), 'first\nsecond\n');
});

test('ephemeral: no restart; a runner killed by a signal is exited with a null code', async (t) => {
  const c = await setup(t);
  if (!c) return;
  await c.backend.create(c.spec);
  await until(async () => ((await state(c.backend, c.spec.name))?.state === 'running' ? true : undefined), 30_000, 'running');
  await c.sd.sh(`systemctl kill --signal=SIGKILL ${c.unit}`);
  const r = await until(async () => {
    const s = await state(c.backend, c.spec.name);
    return s?.state === 'exited' ? s : undefined;
  }, 30_000, 'exited');
  t.is(r.exitCode, null);
  // A clean 0 exit stays observable (RemainAfterExit) with its code.
  const d = await setup(t, { script: 'exit 0' });
  await d!.backend.create(d!.spec);
  const z = await until(async () => {
    const s = await state(d!.backend, d!.spec.name);
    return s?.state === 'exited' ? s : undefined;
  }, 30_000, 'exit 0');
  t.is(z.exitCode, 0);
  t.truthy(z.startedAt);
});

test('destroy: SIGINT first, the job process tree is gone afterwards, files removed', async (t) => {
  const c = await setup(t, { script: 'trap "echo graceful > stopped; exit 0" INT; sleep 300 & echo $! > child; wait' });
  if (!c) return;
  await c.backend.create(c.spec);
  const child = await until(async () => {
    const r = await c.sd.exec(['cat', path.join(c.spec.root, 'child')]);
    return r.code === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
  }, 30_000, 'child pid');
  await c.backend.destroy(c.spec.name, { graceMs: 5_000 });
  t.is((await c.sd.sh(`cat ${c.spec.root}/stopped`)).trim(), 'graceful');
  t.not((await c.sd.exec(['kill', '-0', child])).code, 0, 'the job child was killed with the unit');
  t.not((await c.sd.exec(['test', '-e', `/etc/systemd/system/${c.unit}`])).code, 0);
  t.not((await c.sd.exec(['test', '-e', `/run/runner-fleet/${c.spec.name}.env`])).code, 0);
  t.is(await state(c.backend, c.spec.name), undefined);
});

test('dns and extraHosts reach the runner through bind-mounted resolv.conf / hosts', async (t) => {
  const c = await setup(t, {
    network: { dns: ['10.9.8.7'], extraHosts: { 'argocd.internal.example': '10.20.0.15' } },
    script: 'cat /etc/resolv.conf /etc/hosts > net; exec sleep 300',
  });
  if (!c) return;
  await c.backend.create(c.spec);
  const net = await until(async () => {
    const r = await c.sd.exec(['cat', path.join(c.spec.root, 'net')]);
    return r.code === 0 && r.stdout ? r.stdout : undefined;
  }, 30_000, 'net');
  t.regex(net, /nameserver 10\.9\.8\.7/);
  t.regex(net, /10\.20\.0\.15\s+argocd\.internal\.example/);
});

test('logs come from the journal; ping works; a bad name is refused', async (t) => {
  const c = await setup(t, { script: 'echo hello-from-runner; exec sleep 300' });
  if (!c) return;
  await c.backend.ping();
  await c.backend.create(c.spec);
  const logs = await until(async () => {
    const l = await c.backend.logs!(c.spec.name, { tail: 20 });
    return l.includes('hello-from-runner') ? l : undefined;
  }, 30_000, 'logs');
  t.regex(logs, /hello-from-runner/);
  const err = await t.throwsAsync(c.backend.destroy('../etc/passwd', { graceMs: 0 }));
  t.true(isFleetError(err, 'BACKEND_FAILED'));
});

test('list() fails with a code when systemctl fails, never an empty list that would read as "all runners gone"', async (t) => {
  // What the host answers when the bus is down, and when something else breaks the call.
  const answers = [
    { code: 1, stdout: '', stderr: 'Failed to connect to bus: No such file or directory', want: 'BACKEND_UNAVAILABLE' as const },
    { code: 1, stdout: '', stderr: 'Failed to list unit files: Access denied', want: 'BACKEND_FAILED' as const },
  ];
  for (const a of answers) {
    const b = createSystemdBackend({ host: 'h', logger: silentLogger(), run: async () => a });
    const err = await t.throwsAsync(b.list());
    t.true(isFleetError(err, a.want), `${a.stderr}: ${String(err)}`);
  }
  // Exit 1 with nothing on stderr is systemctl's "no unit file matched".
  const empty = createSystemdBackend({ host: 'h', logger: silentLogger(), run: async () => ({ code: 1, stdout: '', stderr: '' }) });
  t.deepEqual(await empty.list(), []);
});

test('a unit file removed while list() reads it (a concurrent destroy) hides neither the others nor fails the list', async (t) => {
  // What systemctl printed in CI: cat stops at the unit whose file vanished mid-read.
  const unit = (n: string, host: string) => `[Unit]\nX-RunnerFleetHost=${host}\nX-RunnerFleetPool=cd\nX-RunnerFleetRunner=${n}\n[Service]\nExecStart=/bin/true\n`;
  const names = ['h-cd-aaaaaa', 'h-cd-bbbbbb', 'h-cd-cccccc'].map((n) => `runner-fleet-${n}.service`);
  const frag = (u: string) => `/etc/systemd/system/${u}`;
  const cats: string[][] = [];
  const run = async (argv: string[]) => {
    const args = argv.slice(1);
    if (args[0] === 'list-unit-files') return { code: 0, stdout: names.map((u) => `${u} static -`).join('\n'), stderr: '' };
    if (args[0] === 'show') {
      const units = args.slice(args.indexOf('--') + 1);
      return { code: 0, stdout: units.map((u) => `Id=${u}\nFragmentPath=${frag(u)}\nActiveState=active\nSubState=running`).join('\n\n'), stderr: '' };
    }
    const units = args.slice(args.indexOf('--') + 1);
    cats.push(units);
    const text = (u: string) => `# ${frag(u)}\n${unit(u.slice('runner-fleet-'.length, -'.service'.length), 'h')}`;
    if (units.includes(names[1]!)) {
      return { code: 1, stdout: text(names[0]!), stderr: `# Warning: ${names[1]} changed on disk.\nFailed to cat ${frag(names[1]!)}: No such file or directory\n` };
    }
    return { code: 0, stdout: units.map(text).join('\n'), stderr: '' };
  };
  const b = createSystemdBackend({ host: 'h', logger: silentLogger(), run });
  t.deepEqual((await b.list()).map((r) => r.name).sort(), ['h-cd-aaaaaa', 'h-cd-cccccc']);
  t.deepEqual(cats[1], [names[2]], 'only the units after the vanished one are read again');
});

test('ping fails with BACKEND_UNAVAILABLE where there is no systemd', async (t) => {
  const b = createSystemdBackend({
    host: 'h',
    logger: silentLogger(),
    run: async () => ({ code: 1, stdout: 'offline\n', stderr: 'System has not been booted with systemd as init system (PID 1).' }),
  });
  const err = await t.throwsAsync(b.ping());
  t.true(isFleetError(err, 'BACKEND_UNAVAILABLE'));
});

test('proxy credentials reach the runner from the 0600 env file, not from the world-readable unit; a line break injects nothing', async (t) => {
  const proxy = 'http://deploy:Pr0xyS3cret@proxy.internal:3128';
  const c = await setup(t, {
    env: { HTTPS_PROXY: proxy, NOTE: 'a\nExecStartPre=/bin/touch /tmp/injected\rUser=root' },
    script: 'echo "$HTTPS_PROXY" > out; printf %s "$NOTE" | od -An -c | tr -s " " >> out; exec sleep 300',
  });
  if (!c) return;
  await c.backend.create(c.spec);
  const out = await until(async () => {
    const r = await c.sd.exec(['cat', path.join(c.spec.root, 'out')]);
    return r.code === 0 && r.stdout.split('\n').length > 2 ? r.stdout : undefined;
  }, 30_000, 'out');
  t.true(out.startsWith(`${proxy}\n`), out);
  t.regex(out, /\\n E x e c/, 'the value arrived whole, line break included');
  t.false((await c.sd.sh(`cat /etc/systemd/system/${c.unit}`)).includes('Pr0xyS3cret'));
  t.false((await c.sd.sh(`systemctl show ${c.unit}`)).includes('Pr0xyS3cret'));
  t.is((await c.sd.sh(`systemctl show -p ExecStartPre --value ${c.unit}`)).trim(), '');
  t.not((await c.sd.exec(['test', '-e', '/tmp/injected'])).code, 0);
});
