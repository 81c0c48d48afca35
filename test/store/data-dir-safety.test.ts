import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { isFleetError } from '../../src/errors.js';
import { checkDataDirSafe } from '../../src/store/files.js';
import { startEmulator } from '../emulator/index.js';
import { poolYaml, startTestDaemon } from '../helpers/daemon.js';

function scratch(t: ExecutionContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-datadir-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

for (const dir of ['/', '/etc', '/var', '/var/lib', '/usr', '/usr/local', '/home', '/root', '/tmp', '/etc/', '/var/../etc']) {
  test(`a system directory is refused as host.dataDir: ${dir}`, (t) => {
    const err = t.throws(() => checkDataDirSafe(dir));
    t.true(isFleetError(err, 'DATA_DIR_UNSAFE'), String(err));
  });
}

test('a data dir that does not exist yet, or that the daemon owns, is fine', (t) => {
  const dir = scratch(t);
  t.notThrows(() => checkDataDirSafe(path.join(dir, 'new', 'data')));
  t.notThrows(() => checkDataDirSafe(dir));
});


test('the daemon refuses (and never chmods) a data dir owned by another user', async (t) => {
  if (process.getuid?.() !== 0) return void t.fail('needs root to chown');
  const foreign = path.join(scratch(t), 'theirs');
  fs.mkdirSync(foreign, { mode: 0o755 });
  fs.chmodSync(foreign, 0o755);
  fs.chownSync(foreign, 65534, 65534);
  const { err } = await startWith(t, foreign);
  t.true(isFleetError(err, 'DATA_DIR_UNSAFE'), String(err));
  t.is(fs.statSync(foreign).mode & 0o777, 0o755, 'mode untouched');
  t.false(fs.existsSync(path.join(foreign, 'state.db')), 'nothing written into it');
});

test('the daemon refuses a data dir that is a symlink (and never chmods its target)', async (t) => {
  const base = scratch(t);
  const target = path.join(base, 'target');
  fs.mkdirSync(target);
  fs.chmodSync(target, 0o755);
  const link = path.join(base, 'data');
  fs.symlinkSync(target, link);
  const { err } = await startWith(t, link);
  t.true(isFleetError(err, 'DATA_DIR_UNSAFE'), String(err));
  t.is(fs.statSync(target).mode & 0o777, 0o755, 'target mode untouched');
});

async function startWith(t: ExecutionContext, dataDir: string): Promise<{ err: unknown }> {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const dir = scratch(t);
  try {
    const fx = await startTestDaemon(t, emu, poolYaml({ name: 'cd', size: 0 }), { dir, dataDir });
    await fx.stop('keep');
    return { err: undefined };
  } catch (err) {
    return { err };
  }
}
