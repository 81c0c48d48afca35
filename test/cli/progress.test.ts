import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { startEmulator } from '../emulator/index.js';
import { serveTools } from '../daemon/tools-kit.js';
import { BIN, cli, configYaml, ROOT, tmp, write } from './kit.js';

/** The CLI on a pseudo-terminal (util-linux `script`, in every Debian base system): output as a user sees it. */
function onTty(args: string[]): Promise<{ code: number | null; out: string }> {
  const cmd = [process.execPath, '--import', 'tsx', BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve) => {
    const p = spawn('script', ['-qec', cmd, '/dev/null'], { cwd: ROOT, env: { PATH: process.env.PATH, HOME: os.tmpdir(), TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d));
    p.stderr.on('data', (d: Buffer) => (out += d));
    p.stdin.end();
    p.on('close', (code) => resolve({ code, out }));
  });
}

const BAR = /\[[█░]+\] 100%/;

/** Contract §3: `runner download` "progress bar on a TTY", `tools install` "progress on a TTY". */
test('runner download and tools install draw a progress bar on a TTY, and plain lines (no bar, no escapes) otherwise', async (t) => {
  t.timeout(3 * 60_000);
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const tools = await serveTools(emu);
  const dir = await tmp(t);
  const config = (name: string) => write(dir, `${name}.yaml`, configYaml({ dataDir: path.join(dir, name), apiUrl: emu.apiUrl, url: emu.url, extra: tools.yaml }));
  const tty = config('tty');
  const plain = config('plain');

  for (const cmd of [['runner', 'download'], ['tools', 'install']]) {
    const a = await onTty([...cmd, '-c', tty]);
    t.is(a.code, 0, a.out);
    t.regex(a.out, BAR, `${cmd.join(' ')} on a TTY:\n${a.out}`);
    const b = await cli([...cmd, '-c', plain]);
    t.is(b.code, 0, b.stderr);
    const all = b.stdout + b.stderr;
    t.notRegex(all, BAR);
    t.false(all.includes('\x1b['), `escape codes off a TTY: ${JSON.stringify(all)}`);
    t.regex(all, /100%/);
  }
});
