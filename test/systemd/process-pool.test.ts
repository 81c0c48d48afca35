/**
 * A process pool with `process.user` on a provisioned systemd host (PID 1 in a container):
 * provisioning/setup-host.sh installs the built package, install-service adds the process-user
 * drop-in, and hostile jobs try what issue 10 lists for process runners under the shipped unit:
 * read the daemon's store, config, credentials and environment; read a sibling runner's
 * credentials and Listener environment; make PID 1 kill the daemon through sd_notify
 * (NotifyAccess=all); leave a process behind that swaps a directory of its root for a link out
 * while the daemon removes the root. A daemon restart adopts the runners (their scopes survive).
 *
 * Needs `npx tsc -p tsconfig.build.json` first (dist/ is what gets installed).
 */
import anyTest, { type TestFn } from 'ava';
import { existsSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { startEmulator } from '../emulator/index.js';
import type { Emulator } from '../emulator/types.js';
import { until } from '../helpers/poll.js';
import { requireDocker } from '../helpers/engines.js';
import { REPO_DIR, startSystemdHost, type SystemdHost } from '../helpers/systemd-host.js';
import { siblingAttack } from '../security/isolation-kit.js';

const HOST = 'pe2e';
const DATA = '/var/lib/runner-fleet';
const VICTIM = '/srv/rf-victim';

interface Ctx {
  sd: SystemdHost;
  setup: string[];
  emu: Emulator;
  cleanup: Array<() => Promise<void> | void>;
}
const test = anyTest as TestFn<Ctx>;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

const online = (emu: Emulator) => emu.runners().filter((r) => r.name.startsWith(`${HOST}-pu-`) && r.status === 'online');
const daemonPid = async (sd: SystemdHost) => (await sd.sh('systemctl show -p MainPID --value runner-fleet.service')).trim();
const restarts = async (sd: SystemdHost) => (await sd.sh('systemctl show -p NRestarts --value runner-fleet.service')).trim();

async function runJob(t: { context: Ctx }, script: string, timeoutMs = 90_000) {
  const { emu } = t.context;
  await emu.waitForRunners((rs) => rs.filter((r) => r.name.startsWith(`${HOST}-pu-`) && r.status === 'online').length === 2, 120_000);
  return emu.waitForJob(emu.queueJob({ labels: ['self-hosted', 'e2e-proc'], script, scope: { org: 'acme' } }), timeoutMs);
}

test.before(async (t) => {
  t.timeout(10 * 60_000);
  const cleanup: Ctx['cleanup'] = [];
  t.context = { cleanup } as Ctx;
  if (!existsSync(path.join(REPO_DIR, 'dist', 'cli', 'bin.js'))) throw new Error('dist/ missing: run `npx tsc -p tsconfig.build.json` before this test');
  if (!(await requireDocker(t as never))) throw new Error('docker is needed');
  // Outside /tmp: the unit's PrivateTmp would hide a config there (install-service refuses it).
  const dir = mkdtempSync(path.join(os.homedir(), '.rf-proc-e2e-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  await chmod(dir, 0o755);
  const sd = await startSystemdHost({ mounts: [dir] });
  cleanup.push(() => sd.close());
  const emu = await startEmulator();
  cleanup.push(() => emu.close());
  t.context.sd = sd;
  t.context.emu = emu;

  const port = await freePort();
  const config = path.join(dir, 'config.yaml');
  await writeFile(
    config,
    `host:
  name: ${HOST}
  dataDir: ${DATA}
github:
  url: ${emu.url}
  apiUrl: ${emu.apiUrl}
  auth:
    tokenFile: \${CREDENTIALS_DIRECTORY:-/etc/runner-fleet/credentials}/github-token
runner:
  version: latest
tools: []
api:
  listen: 127.0.0.1:${port}
  webhookSecret: config-secret-canary
reconcile:
  interval: 1s
shutdown:
  mode: keep
pools:
  - name: pu
    scope: { org: acme }
    labels: [e2e-proc]
    backend: process
    size: 2
    ephemeral: true
    process: { user: runner }
    limits: { memory: 768m, cpus: 1.5, pids: 4000 }
`,
  );
  await writeFile(path.join(dir, 'token'), 'test-pat\n', { mode: 0o600 });
  t.context.setup = [
    'bash', path.join(REPO_DIR, 'provisioning', 'setup-host.sh'),
    '--package', REPO_DIR, '--config', config, '--github-token-file', path.join(dir, 'token'),
    '--apt-packages', 'ca-certificates',
  ];
  const r = await sd.exec(t.context.setup);
  if (r.code !== 0) throw new Error(`setup-host.sh exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  // A directory only root may change, with content: what a link swapped in during rm -r would expose.
  await sd.sh(`mkdir -p ${VICTIM}/keep && for i in $(seq 1 50); do echo v > ${VICTIM}/keep/f$i; done; chmod -R go-w ${VICTIM}`);
});

test.afterEach.always(async (t) => {
  if (t.passed || !t.context.sd) return;
  const r = await t.context.sd.exec(['bash', '-c', 'journalctl -u runner-fleet.service --no-pager -n 40 | cut -c1-400; systemctl list-units --no-legend "rf-process-*"']);
  t.log(r.stdout);
});

test.after.always(async (t) => {
  for (const fn of (t.context.cleanup ?? []).reverse()) await fn();
});

test.serial('install-service gives a process.user pool its drop-in: the daemon runs as root with a small capability set', async (t) => {
  t.timeout(5 * 60_000);
  const { sd } = t.context;
  t.is((await sd.sh('systemctl is-active runner-fleet.service')).trim(), 'active');
  const show = await sd.sh('systemctl show -p User -p CapabilityBoundingSet -p StateDirectoryMode runner-fleet.service');
  t.regex(show, /^User=root$/m);
  t.regex(show, /^StateDirectoryMode=0711$/m);
  const caps = /^CapabilityBoundingSet=(.*)$/m.exec(show)?.[1]?.split(/\s+/).sort();
  t.deepEqual(caps, ['cap_chown', 'cap_dac_override', 'cap_fowner', 'cap_kill', 'cap_setgid', 'cap_setuid']);
  t.is((await sd.sh(`stat -c '%a %U' ${DATA}`)).trim(), '711 root');
  const again = await sd.exec(t.context.setup);
  t.is(again.code, 0, again.stdout + again.stderr);
  const steps = again.stdout.split('\n').filter((l) => /^\w+:\s/.test(l) && !l.startsWith('done:'));
  t.deepEqual(steps.filter((l) => !/\sunchanged$/.test(l)), [], 'a second run changes nothing');
});

test.serial('a job of a process.user pool runs as its own user and reads neither state.db, the config, the credentials nor the daemon environment', async (t) => {
  t.timeout(5 * 60_000);
  const { sd } = t.context;
  const script = `echo "user=$(id -un) group=$(id -gn)"
for f in ${DATA}/state.db ${DATA}/state.db-wal /etc/runner-fleet/config.yaml /etc/runner-fleet/credentials/github-token /run/credentials/runner-fleet.service/github-token; do
  if cat "$f" > /dev/null 2>&1; then echo "READ-OK: $f"; else echo "unreadable: $f"; fi
done
if ls /run/credentials/runner-fleet.service > /dev/null 2>&1; then echo "LIST-OK: /run/credentials"; fi
if ls ${DATA} > /dev/null 2>&1; then echo "LIST-OK: ${DATA}"; fi
n=0
for p in /proc/[0-9]*; do
  e=$(tr '\\0' '\\n' < $p/environ 2>/dev/null || true)
  [ -n "$e" ] && n=$((n+1))
  case "$e" in *CREDENTIALS_DIRECTORY=*|*NOTIFY_SOCKET=*|*test-pat*|*config-secret-canary*) echo "READ-OK: $p/environ";; esac
done
echo "environs-read=$n"
echo "env-names=$(env | grep -o '^[A-Z_]*=' | tr -d = | sort | tr '\\n' ' ')"
# (INVOCATION_ID is its own scope's, set by systemd-run: not the daemon's.)
env | grep '^CREDENTIALS_DIRECTORY=\\|^NOTIFY_SOCKET=\\|^WATCHDOG_' | sed 's/=.*//; s/^/READ-OK: own env has the daemon'"'"'s /' || true`;
  const job = await runJob(t, script);
  t.is(job.conclusion, 'success', job.output);
  const user = /^user=(\S+) group=(\S+)$/m.exec(job.output);
  t.truthy(user, job.output);
  // process.isolation defaults to per-runner: its own user (made through PID 1: /etc is read-only to the daemon).
  t.regex(user![1]!, /^rf-[0-9a-f]{13}$/);
  t.is(user![2], 'runner', 'in the pool user\'s group');
  t.log(/^env-names=.*$/m.exec(job.output)?.[0]);
  t.regex(job.output, /unreadable: .*state\.db$/m);
  t.regex(job.output, /unreadable: \/etc\/runner-fleet\/config\.yaml$/m);
  t.regex(job.output, /unreadable: \/run\/credentials\/runner-fleet\.service\/github-token$/m);
  t.regex(job.output, /^environs-read=[1-9]/m, 'the job did read the environments it could');
  t.false(job.output.includes('READ-OK'), job.output);
  t.false(job.output.includes('LIST-OK'), job.output);
  t.is((await sd.sh('systemctl is-active runner-fleet.service')).trim(), 'active');
});

test.serial("a job cannot read a sibling runner's .credentials_rsaparams or its Listener's environment", async (t) => {
  t.timeout(5 * 60_000);
  const { emu } = t.context;
  await until(() => online(emu).length === 2, 120_000, 'two runners online');
  const roots = online(emu).map((r) => `${DATA}/runners/${r.name}`);
  const script = siblingAttack(roots, 'echo "other=$OTHER"');
  const job = await runJob(t, script);
  t.is(job.conclusion, 'success', job.output);
  t.regex(job.output, /^other=\/var\/lib\/runner-fleet\/runners\/pe2e-pu-/m);
  t.regex(job.output, /unreadable: .*\.credentials_rsaparams$/m);
  t.false(job.output.includes('READ-OK'), job.output);
  t.false(job.output.includes('LIST-OK'), job.output);
});

test.serial('a process a job leaves behind is gone before its root is removed; a link it swaps in never makes the daemon delete outside', async (t) => {
  t.timeout(5 * 60_000);
  const { sd } = t.context;
  // setsid: out of the runner's process group, as a hostile job would; it keeps swapping a
  // directory of its root for a link to ${VICTIM}/keep while the daemon deletes the root.
  const script = `R="\${RUNNER_WORKSPACE%/_work}"
echo "root=$R"
mkdir -p "$R/_work/swap"
for i in $(seq 1 200); do mkdir -p "$R/_work/swap/d$i"; touch "$R/_work/swap/d$i/x"; done
setsid sh -c 'exec -a rf-leftover-swapper sh -c "while :; do for d in \\"\\$0\\"/_work/swap/d*; do rm -rf \\"\\$d\\" 2>/dev/null; ln -sfn ${VICTIM}/keep \\"\\$d\\" 2>/dev/null; done; done" "$0"' "$R" < /dev/null > /dev/null 2>&1 &
sleep 1
echo started`;
  const job = await runJob(t, script);
  t.is(job.conclusion, 'success', job.output);
  const root = /^root=(\S+)$/m.exec(job.output)?.[1];
  t.truthy(root, job.output);
  // The ephemeral runner is destroyed and its root removed.
  await until(async () => (await sd.exec(['test', '-e', root!])).code !== 0, 120_000, 'the runner root removed', 500);
  // [r]: the pattern must not match the command line that carries it.
  const left = await sd.exec(['pgrep', '-f', 'rf-leftover-swappe[r]']);
  t.is(left.stdout.trim(), '', 'no job process survives its runner');
  t.is((await sd.sh(`ls ${VICTIM}/keep | wc -l`)).trim(), '50', 'the directory outside the root is intact');
});

test.serial('sd_notify: a job cannot make PID 1 kill the daemon (WATCHDOG=trigger); a restarted daemon adopts its runners', async (t) => {
  t.timeout(5 * 60_000);
  const { sd, emu } = t.context;
  const pid = await daemonPid(sd);
  const n = await restarts(sd);
  const script = `export NOTIFY_SOCKET=/run/systemd/notify
systemd-notify WATCHDOG=trigger && echo sent-trigger || echo "trigger not sent"
systemd-notify STOPPING=1 && echo sent-stopping || true
sleep 3
echo done`;
  const job = await runJob(t, script);
  t.is(job.conclusion, 'success', job.output);
  t.regex(job.output, /sent-trigger|trigger not sent/);
  // Give PID 1 the time a watchdog abort + RestartSec=5 would take.
  await new Promise((r) => setTimeout(r, 8_000));
  t.is(await daemonPid(sd), pid, `the daemon was restarted: ${await sd.sh('journalctl -u runner-fleet.service --no-pager | tail -20')}`);
  t.is(await restarts(sd), n);
  t.is((await sd.sh('systemctl is-active runner-fleet.service')).trim(), 'active');

  // Runners live in their own scopes: a daemon restart keeps them and adopts them.
  await until(() => online(emu).length === 2, 120_000, 'two runners online');
  const before = online(emu).map((r) => r.name).sort();
  const scopes = (await sd.sh("systemctl list-units --no-legend --plain --state=active 'rf-process-*.scope' | awk '{print $1}'")).split('\n').filter(Boolean);
  t.is(scopes.length, 2, scopes.join(' '));
  // pools[].limits are the scope's own properties (no raw cgroup under the daemon's unit).
  const props = await sd.sh(`systemctl show -p MemoryMax -p MemorySwapMax -p CPUQuotaPerSecUSec -p TasksMax ${scopes[0]}`);
  t.regex(props, /^MemoryMax=805306368$/m);
  t.regex(props, /^MemorySwapMax=0$/m);
  t.regex(props, /^CPUQuotaPerSecUSec=1\.50*s$/m);
  t.regex(props, /^TasksMax=4000$/m);
  await sd.sh('systemctl restart runner-fleet.service');
  t.is((await sd.sh('systemctl is-active runner-fleet.service')).trim(), 'active');
  await new Promise((r) => setTimeout(r, 5_000)); // several reconcile intervals (1 s)
  t.deepEqual(online(emu).map((r) => r.name).sort(), before, 'the same runners, none replaced');
  const after = (await sd.sh("systemctl list-units --no-legend --plain --state=active 'rf-process-*.scope' | awk '{print $1}'")).split('\n').filter(Boolean);
  t.deepEqual(after.sort(), scopes.sort());
  // An adopted runner still takes a job and is then replaced (its exit seen through /proc).
  const job2 = await runJob(t, 'echo adopted-ok');
  t.is(job2.conclusion, 'success', job2.output);
});
