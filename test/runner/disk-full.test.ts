import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import * as tar from 'tar';
import type { ToolConfig } from '../../src/config/types.js';
import { FleetError, describeError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { ensureRunnerCached, runnerCacheDir } from '../../src/runner/download.js';
import { openStore } from '../../src/store/index.js';
import { installTool, readInstalledTool, toolPaths } from '../../src/tools/index.js';
import { startEmulator } from '../emulator/index.js';
import { smallTmpfs } from '../helpers/tmpfs.js';
import { makeTarGz as tarGz } from '../tools/archives.js';
import { tempDir } from './util.js';

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');


// Compresses about 10:1 (node-tar refuses archives that inflate over 1000:1 as bombs): the
// archive fits the small disk, its contents do not, so extraction hits ENOSPC.
const BIG = Buffer.concat([crypto.randomBytes(300 * 1024), Buffer.alloc(3700 * 1024)]);

test.serial('runner archive on a full disk: DISK_FULL, nothing renamed into place, no version recorded, no temp left', async (t) => {
  const disk = smallTmpfs(t, 1024);
  if (!disk) return;
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const archive = await tarGz({ 'config.sh': Buffer.from('#!/bin/sh\n'), 'bin/Runner.Listener': BIG });
  const url = emu.serveFile('runner/actions-runner-linux-x64-9.9.9.tar.gz', archive);
  const dataDir = path.join(disk, 'data');
  const store = openStore(await tempDir(t));
  t.teardown(() => store.close());
  const err = await t.throwsAsync(
    ensureRunnerCached({ dataDir, version: '9.9.9', url, sha256: sha(archive), fetch, store, logger: silentLogger() }),
    { instanceOf: FleetError },
  );
  t.is(err?.code, 'DISK_FULL', err?.message);
  t.false(fs.existsSync(runnerCacheDir(dataDir, '9.9.9')), 'no truncated tree renamed into place');
  t.is(store.versions.get('9.9.9'), undefined, 'no verified version recorded');
  t.deepEqual(fs.readdirSync(path.join(dataDir, 'cache', 'runner')).filter((e) => !e.endsWith('.lock')), []);
});

test.serial('tool archive on a full disk: DISK_FULL, no marker, no tamper baseline from a truncated binary', async (t) => {
  const disk = smallTmpfs(t, 1024);
  if (!disk) return;
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const archive = await tarGz({ 'helm/helm': BIG });
  const url = emu.serveFile('helm/v3.0.0/helm-linux-amd64.tar.gz', archive).replace('v3.0.0', '{version}');
  const tool: ToolConfig = { name: 'helm', version: 'v3.0.0', url, sha256: sha(archive), archive: 'auto' };
  const dataDir = path.join(disk, 'data');
  const store = openStore(await tempDir(t));
  t.teardown(() => store.close());
  const err = await t.throwsAsync(installTool(tool, { dataDir, fetch, store, arch: 'x64' }), { instanceOf: FleetError });
  t.is(err?.code, 'DISK_FULL', describeError(err));
  t.is(readInstalledTool(dataDir, tool, 'x64'), null);
  t.is(store.tools.get('helm', 'v3.0.0', 'x64'), undefined, 'no hash recorded');
  const p = toolPaths(dataDir, tool, 'x64');
  t.false(fs.existsSync(p.dir));
  t.deepEqual(fs.readdirSync(p.versionDir), [], 'no temp dir left');
});

test('setuid and setgid bits in the runner archive are dropped on extraction', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const archive = await tarGz({
    'config.sh': Buffer.from('#!/bin/sh\n'),
    'bin/suid': { content: Buffer.from('#!/bin/sh\n'), mode: 0o4755 },
    'bin/sgid': { content: Buffer.from('#!/bin/sh\n'), mode: 0o2755 },
  });
  // The archive really carries the bits (tar keeps them when the test runs as root or not).
  const modes: Record<string, number> = {};
  const list = path.join(await tempDir(t), 'a.tgz');
  fs.writeFileSync(list, archive);
  await tar.t({ file: list, onReadEntry: (e) => void (modes[e.path] = e.mode ?? 0) });
  t.is(modes['bin/suid']! & 0o7000, 0o4000);
  const url = emu.serveFile('runner/actions-runner-linux-x64-9.9.8.tar.gz', archive);
  const dataDir = await tempDir(t);
  const cached = await ensureRunnerCached({ dataDir, version: '9.9.8', url, sha256: sha(archive), fetch });
  for (const f of ['bin/suid', 'bin/sgid']) {
    const mode = fs.statSync(path.join(cached.path, f)).mode;
    t.is(mode & 0o6000, 0, `${f} keeps no setuid/setgid bit`);
    t.is(mode & 0o111, 0o111, `${f} stays executable`);
  }
});
