/**
 * The watchdog under a real systemd (PID 1 in a container, host network): the daemon runs as a
 * Type=notify service with WatchdogSec=; while it works it is left alone, and once it hangs
 * (SIGSTOP: a loop that never turns again, as a blocking read would leave it) systemd kills and
 * restarts it, and the new daemon adopts the runner the old one started.
 */
import { chmodSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { startEmulator } from '../emulator/index.js';
import { poolYaml, until } from '../helpers/daemon.js';
import { REPO_DIR, requireSystemdHost } from '../helpers/systemd-host.js';

const SHARED = mkdtempSync(path.join('/tmp', 'rf-sec-wd-'));
chmodSync(SHARED, 0o755);
test.after.always(() => rmSync(SHARED, { recursive: true, force: true }));

const UNIT = 'rf-watchdog-test.service';

test('systemd restarts a hung daemon (watchdog) and the new one adopts its runner; a working one is left alone', async (t) => {
  t.timeout(5 * 60_000);
  const modules = realpathSync(path.join(REPO_DIR, 'node_modules'));
  const sd = await requireSystemdHost(t, { mounts: [SHARED, modules] });
  if (!sd) return;
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const dataDir = path.join(SHARED, 'data');
  const cfg = path.join(SHARED, 'config.yaml');
  writeFileSync(cfg, `host: { name: wd1, dataDir: ${dataDir} }
github: { url: ${emu.url}, apiUrl: ${emu.apiUrl}, auth: { token: test-pat } }
api: { listen: "127.0.0.1:0" }
reconcile: { interval: 1s }
shutdown: { mode: keep }
pools:
${poolYaml({ name: 'cd', size: 1 })}`);
  const show = async () => {
    const out = await sd.sh(`systemctl show -p MainPID -p NRestarts -p ActiveState ${UNIT}`);
    return Object.fromEntries(out.trim().split('\n').map((l) => l.split('=') as [string, string]));
  };
  await sd.sh([
    `systemd-run --unit ${UNIT} --working-directory ${REPO_DIR}`,
    '-p Type=notify -p NotifyAccess=all -p WatchdogSec=3 -p TimeoutAbortSec=2 -p KillMode=process',
    '-p Restart=on-failure -p RestartSec=1',
    `/usr/local/bin/node --import tsx ${path.join(REPO_DIR, 'src/cli/bin.ts')} daemon -c ${cfg}`,
  ].join(' '));
  t.teardown(async () => {
    await sd.sh(`systemctl stop ${UNIT} || true`).catch(() => undefined);
  });
  const mine = () => emu.runners().filter((r) => r.name.startsWith('wd1-cd-') && r.status === 'online');
  const [runner] = await until(() => (mine().length === 1 ? mine() : null), 90_000, 'runner online');
  const first = await show();
  t.is(first.ActiveState, 'active');

  // Three watchdog periods of normal work: pinged, never restarted.
  await new Promise((r) => setTimeout(r, 9_000));
  t.like(await show(), { MainPID: first.MainPID, NRestarts: first.NRestarts, ActiveState: 'active' });

  // Hung: systemd kills it after WatchdogSec (+ TimeoutAbortSec) and starts a new one.
  await sd.sh(`kill -STOP ${first.MainPID}`);
  const after = await until(async () => {
    const s = await show();
    return s.ActiveState === 'active' && s.MainPID !== first.MainPID && s.MainPID !== '0' ? s : null;
  }, 60_000, 'restarted by the watchdog');
  t.is(Number(after.NRestarts), Number(first.NRestarts) + 1);
  t.regex(await sd.sh(`journalctl -u ${UNIT} --no-pager | grep -i watchdog || true`), /watchdog timeout/i);

  // The new daemon adopts the runner: same registration online, no second one.
  await new Promise((r) => setTimeout(r, 5_000));
  t.deepEqual(mine().map((r) => r.name), [runner!.name]);
});
