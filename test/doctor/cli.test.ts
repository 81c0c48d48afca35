import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { main } from '../../src/cli/index.js';
import { hostArch } from '../../src/runner/arch.js';
import { startEmulator, type Emulator } from '../emulator/index.js';
import { tempDir } from '../runner/util.js';

const YQ = '#!/bin/sh\necho yq version v4.40.5\n';

function buffer() {
  let text = '';
  return { out: { write: (s: string) => (text += s) }, text: () => text };
}

async function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const stdout = buffer();
  const stderr = buffer();
  const code = await main(['node', 'runner-fleet', ...args], { env: { PATH: process.env.PATH, ...env }, stdout: stdout.out, stderr: stderr.out });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

async function setup(t: ExecutionContext, opts: { checks: string[]; sha?: string; token?: string }) {
  const emu: Emulator = await startEmulator();
  t.teardown(() => emu.close());
  const dir = await tempDir(t, 'rf-cli-mine-');
  const dataDir = path.join(dir, 'data');
  const yqUrl = emu.serveFile('yq/v4.40.5/yq_linux_amd64', YQ).replace('amd64', '{arch}');
  const file = path.join(dir, 'config.yaml');
  fs.writeFileSync(
    file,
    `host: { name: h, dataDir: ${dataDir} }
github:
  url: ${emu.url}
  apiUrl: ${emu.apiUrl}
  auth: { token: ${opts.token ?? 'test-pat'} }
runner: { version: latest }
tools:
  - name: yq
    version: v4.40.5
    url: ${yqUrl}
    sha256: ${opts.sha ?? crypto.createHash('sha256').update(YQ).digest('hex')}
    versionCommand: [--version]
network:
  checks: ${JSON.stringify(opts.checks)}
pools:
  - name: cd
    scope: { org: acme }
    backend: process
    size: 1
`,
  );
  return { emu, dataDir, file };
}

async function port(t: ExecutionContext, keep: boolean): Promise<number> {
  const srv = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const p = (srv.address() as AddressInfo).port;
  if (keep) t.teardown(() => new Promise<void>((r) => srv.close(() => r())));
  else await new Promise<void>((r) => srv.close(() => r()));
  return p;
}

test('runner download and tools install are idempotent; doctor passes', async (t) => {
  const up = await port(t, true);
  const { dataDir, file } = await setup(t, { checks: [`127.0.0.1:${up}`] });

  const dl = await run(['-c', file, 'runner', 'download']);
  t.is(dl.code, 0, dl.stderr);
  t.regex(dl.stdout, /runner 2\.330\.0: downloaded and verified/);
  t.true(fs.existsSync(path.join(dataDir, 'cache', 'runner', '2.330.0', 'config.sh')));
  const again = await run(['-c', file, 'runner', 'download']);
  t.regex(again.stdout, /already cached/);

  const ti = await run(['-c', file, 'tools', 'install']);
  t.is(ti.code, 0, ti.stderr);
  t.regex(ti.stdout, /yq v4\.40\.5: installed.*yq version v4\.40\.5/);
  t.regex((await run(['-c', file, 'tools', 'install'])).stdout, /already installed/);

  fs.chmodSync(dataDir, 0o700);
  const doc = await run(['-c', file, 'doctor', '--json']);
  const report = JSON.parse(doc.stdout) as { ok: boolean; checks: { name: string; status: string }[] };
  t.is(doc.code, 0, doc.stdout);
  t.true(report.ok);
  t.true(report.checks.some((c) => c.name === 'github org acme' && c.status === 'ok'));
  t.true(report.checks.some((c) => c.name === `reach 127.0.0.1:${up}` && c.status === 'ok'));

  const table = await run(['-c', file, 'doctor']);
  t.regex(table.stdout, /^CHECK\s+STATUS\s+DETAIL/m);
});

test('doctor exits 1 with fixes when a check fails', async (t) => {
  const down = await port(t, false);
  const { file } = await setup(t, { checks: [`127.0.0.1:${down}`], token: 'wrong' });
  const doc = await run(['-c', file, 'doctor', '--json']);
  t.is(doc.code, 1);
  const report = JSON.parse(doc.stdout) as { ok: boolean; checks: { name: string; status: string; hint?: string }[] };
  t.false(report.ok);
  const gh = report.checks.find((c) => c.name === 'github org acme');
  t.is(gh?.status, 'fail');
  t.regex(gh?.hint ?? '', /admin:org/);
  t.is(report.checks.find((c) => c.name === `reach 127.0.0.1:${down}`)?.status, 'fail');
});

test('tools install refuses a checksum mismatch (exit 1, nothing installed)', async (t) => {
  const { dataDir, file } = await setup(t, { checks: [], sha: 'd'.repeat(64) });
  const r = await run(['-c', file, 'tools', 'install']);
  t.is(r.code, 1);
  t.regex(r.stderr, /CHECKSUM_MISMATCH/);
  t.false(fs.existsSync(path.join(dataDir, 'tools', 'yq', 'v4.40.5', hostArch())));
});
