import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { cli, configYaml, ROOT, tmp, write } from './kit.js';

const SETUP = path.join(ROOT, 'provisioning/setup-host.sh');

/** A directory outside /tmp (the unit's PrivateTmp hides /tmp and /var/tmp from the daemon). */
function visibleDir(t: ExecutionContext): string {
  // The checkout itself may live under /tmp (a CI clone): then the home directory serves.
  const hidden = (p: string) => /^\/(var\/)?tmp(\/|$)/.test(p);
  const base = [ROOT, os.homedir()].find((p) => !hidden(p));
  if (!base) throw new Error(`no directory outside /tmp to write a test config in (checkout ${ROOT}, home ${os.homedir()})`);
  const dir = fs.mkdtempSync(path.join(base, '.rf-test-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function sh(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', [SETUP, ...args], { env: { PATH: process.env.PATH } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

test('install-service refuses a missing config and one under /tmp (exit 2, nothing written)', async (t) => {
  const units = path.join(await tmp(t), 'units');
  const missing = await cli(['install-service', '--no-reload', '--unit-dir', units, '-c', path.join(visibleDir(t), 'nonexist.yaml')]);
  t.is(missing.code, 2, missing.stderr);
  t.regex(missing.stderr, /not found/);
  const inTmp = write(await tmp(t), 'config.yaml', configYaml({ dataDir: '/var/lib/runner-fleet', apiUrl: 'https://api.github.com' }));
  const hidden = await cli(['install-service', '--no-reload', '--unit-dir', units, '-c', inTmp]);
  t.is(hidden.code, 2, hidden.stderr);
  t.regex(hidden.stderr, /PrivateTmp/);
  t.false(fs.existsSync(units), 'no unit written');
});

test("install-service writes a unit whose Documentation= is where setup-host.sh installs the package's docs", async (t) => {
  const dir = visibleDir(t);
  const cfg = write(dir, 'config.yaml', configYaml({ dataDir: '/var/lib/runner-fleet', apiUrl: 'https://api.github.com' }));
  const units = path.join(dir, 'units');
  const r = await cli(['install-service', '--no-reload', '--unit-dir', units, '--credentials-dir', dir, '-c', cfg]);
  t.is(r.code, 0, r.stderr);
  const unit = fs.readFileSync(path.join(units, 'runner-fleet.service'), 'utf8');
  const doc = /^Documentation=file:(\S+)$/m.exec(unit)?.[1];
  const prefix = /^PREFIX=(\S+)$/m.exec(fs.readFileSync(SETUP, 'utf8'))?.[1];
  t.truthy(prefix);
  t.truthy(doc);
  t.true(doc!.startsWith(`${prefix}/`), `${doc} is not under ${prefix}`);
  const rel = path.relative(prefix!, doc!);
  t.true(fs.existsSync(path.join(ROOT, rel)), `${rel} is not in the package`);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
  t.true(pkg.files.includes(rel.split('/')[0]!), `${rel} is not in package.json files`);
  t.regex(fs.readFileSync(path.join(ROOT, 'provisioning/lib/copy-package.mjs'), 'utf8'), new RegExp(`'${rel.split('/')[0]}'`));
});

test('setup-host.sh: --help is a clean usage (exit 0); a missing value or an unknown option is usage + exit 2', async (t) => {
  const help = await sh(['--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /^Usage: setup-host\.sh/);
  t.notRegex(help.stdout, /set -euo|PREFIX=|^#/m);
  for (const args of [['--config'], ['--package'], ['--no-start', '--job-user'], ['--bogus']]) {
    const r = await sh(args);
    t.is(r.code, 2, args.join(' '));
    t.regex(r.stderr, /Usage: setup-host\.sh/, args.join(' '));
    t.notRegex(r.stderr, /unbound variable/);
  }
});

test('install-service adds the process-user drop-in for a process pool with process.user, from the config or a raw YAML scan', async (t) => {
  const dir = visibleDir(t);
  const pool = `  - name: boxed
    scope: { org: acme }
    backend: process
    size: 1
    process: { user: nobody }`;
  const units = path.join(dir, 'units');
  const dropIn = path.join(units, 'runner-fleet.service.d', 'process-user.conf');
  const plain = write(dir, 'plain.yaml', configYaml({ dataDir: '/var/lib/runner-fleet', apiUrl: 'https://api.github.com' }));
  const none = await cli(['install-service', '--no-reload', '--unit-dir', units, '--credentials-dir', dir, '-c', plain]);
  t.is(none.code, 0, none.stderr);
  t.regex(none.stdout, /^process-user drop-in: not needed$/m);
  t.false(fs.existsSync(dropIn));
  // A config that does not validate here (its secret file is missing) is scanned as YAML.
  const boxed = write(dir, 'boxed.yaml', configYaml({ dataDir: '/var/lib/runner-fleet', apiUrl: 'https://api.github.com', pool }).replace('token: test-pat', 'tokenFile: /nonexistent/token'));
  const r = await cli(['install-service', '--no-reload', '--unit-dir', units, '--credentials-dir', dir, '-c', boxed]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^process-user drop-in: installed/m);
  t.regex(r.stdout, /^systemd backend drop-in: not needed/m);
  t.regex(fs.readFileSync(dropIn, 'utf8'), /^User=root$/m);
  const off = await cli(['install-service', '--no-reload', '--no-process-user', '--unit-dir', units, '--credentials-dir', dir, '-c', boxed]);
  t.is(off.code, 0, off.stderr);
  t.false(fs.existsSync(dropIn));
});
