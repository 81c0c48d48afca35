import test from 'ava';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { StatusReport } from '../../src/api/types.js';
import { startEmulator } from '../emulator/index.js';
import type { Emulator } from '../emulator/types.js';
import { deliver, workflowJob } from '../api/helpers.js';
import { poolYaml, until } from '../helpers/daemon.js';
import { spawnCliDaemon, waitLog } from '../daemon/crash-kit.js';
import { killRunners, online } from '../daemon/lifecycle-kit.js';
import { freePort } from './kit.js';

interface Knobs { port: number; apiToken: string; hookSecret: string; size: number }

function yaml(emu: Emulator, dir: string, k: Knobs): string {
  return `host: { name: h1, dataDir: ${path.join(dir, 'data')} }
github:
  url: ${emu.url}
  apiUrl: ${emu.apiUrl}
  auth: { tokenFile: ${path.join(dir, 'gh-token')} }
api: { listen: 127.0.0.1:${k.port}, token: ${k.apiToken}, webhookSecret: ${k.hookSecret} }
reconcile: { interval: 1s }
shutdown: { mode: drain, drainTimeout: 30s }
pools:
${poolYaml({ name: 'cd', size: k.size })}`;
}

const statusWith = (port: number, token: string) => fetch(`http://127.0.0.1:${port}/api/v1/status`, { headers: { authorization: `Bearer ${token}` } });

test('SIGHUP rotates the GitHub token, API token and webhook secret in place; a change that needs a restart is refused whole, named in the log and in status, and the daemon runs on', async (t) => {
  t.timeout(2 * 60_000);
  const emu = await startEmulator({ pats: ['pat-one', 'pat-two'] });
  t.teardown(() => emu.close());
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rf-reload-'));
  t.teardown(() => killRunners(path.join(dir, 'data')));
  const cfg = path.join(dir, 'config.yaml');
  const port = await freePort();
  await fs.writeFile(path.join(dir, 'gh-token'), 'pat-one\n', { mode: 0o600 });
  await fs.writeFile(cfg, yaml(emu, dir, { port, apiToken: 'api-one', hookSecret: 'hook-one', size: 1 }));
  const d = spawnCliDaemon(t, cfg);
  await until(async () => {
    if (d.child.exitCode !== null) throw new Error(d.logs());
    return online(emu).length === 1;
  }, 30_000, 'first runner online');

  // Rotation: the old PAT is revoked first, so the second runner can only come from the new one.
  emu.revokePat('pat-one');
  await fs.writeFile(path.join(dir, 'gh-token'), 'pat-two\n');
  await fs.writeFile(cfg, yaml(emu, dir, { port, apiToken: 'api-two', hookSecret: 'hook-two', size: 2 }));
  d.child.kill('SIGHUP');
  await waitLog(d, /config reloaded/);
  await until(() => online(emu).length === 2, 30_000, 'second runner registered with the new PAT');
  t.is((await statusWith(port, 'api-one')).status, 401, 'old API token refused');
  const res = await statusWith(port, 'api-two');
  t.is(res.status, 200, 'new API token accepted');
  const st = (await res.json()) as StatusReport;
  t.is(st.reload?.result, 'applied');
  t.true(['github.auth', 'api.token', 'api.webhookSecret', 'pools'].every((k) => st.reload!.changed.includes(k)));
  const base = `http://127.0.0.1:${port}`;
  t.is((await deliver(base, workflowJob(1, 'completed'), { secret: 'hook-one' })).status, 401, 'old webhook secret refused');
  t.is((await deliver(base, workflowJob(2, 'completed'), { secret: 'hook-two' })).status, 202, 'new webhook secret accepted');

  // api.listen cannot move under a running daemon: the whole reload (size 3 too) is refused.
  await fs.writeFile(cfg, yaml(emu, dir, { port: port + 1, apiToken: 'api-two', hookSecret: 'hook-two', size: 3 }));
  d.child.kill('SIGHUP');
  await waitLog(d, /reload refused: api\.listen need a restart/);
  const after = (await (await statusWith(port, 'api-two')).json()) as StatusReport;
  t.is(after.reload?.result, 'refused');
  t.deepEqual(after.reload?.restartRequired, ['api.listen']);
  await new Promise((r) => setTimeout(r, 2500));
  t.is(online(emu).length, 2, 'nothing of the refused reload was applied');
  t.is(d.child.exitCode, null, 'still running');
  t.false(d.logs().includes('pat-two') || d.logs().includes('api-two') || d.logs().includes('hook-two'), 'no secret in the logs');

  d.child.kill('SIGTERM');
  t.is(await d.exited, 0);
});
