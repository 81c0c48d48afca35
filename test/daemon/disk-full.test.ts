import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import * as tar from 'tar';
import { startEmulator } from '../emulator/index.js';
import { poolYaml, startTestDaemon, until, type DaemonFixture } from '../helpers/daemon.js';
import { smallTmpfs } from '../helpers/tmpfs.js';
import { httpStatus } from './lifecycle-kit.js';

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
// Compresses about 10:1 (node-tar refuses archives that inflate over 1000:1 as bombs).
const padding = () => Buffer.concat([crypto.randomBytes(300 * 1024), Buffer.alloc(3700 * 1024)]);

function tmpfs(t: ExecutionContext, sizeKb: number): { dir: string; grow(kb: number): void } | undefined {
  const dir = smallTmpfs(t, sizeKb);
  if (dir === undefined) return undefined;
  return { dir, grow: (kb) => void execFileSync('mount', ['-o', `remount,size=${kb}k`, dir]) };
}

/** The emulator's fake runner release plus 4 MB of padding: fits compressed, not unpacked. */
async function bigRunner(emuTarball: string, work: string): Promise<Buffer> {
  const stage = path.join(work, 'stage');
  fs.mkdirSync(stage, { recursive: true });
  await tar.x({ file: emuTarball, cwd: stage });
  fs.writeFileSync(path.join(stage, 'externals', 'padding'), padding());
  const out = path.join(work, 'big.tar.gz');
  await tar.c({ gzip: true, file: out, cwd: stage, portable: true }, fs.readdirSync(stage));
  return fs.readFileSync(out);
}

async function tgz(work: string, name: string, content: Buffer): Promise<Buffer> {
  const stage = path.join(work, `tool-${name}`);
  fs.mkdirSync(stage, { recursive: true });
  fs.writeFileSync(path.join(stage, name), content, { mode: 0o755 });
  const out = path.join(work, `${name}.tgz`);
  await tar.c({ gzip: true, file: out, cwd: stage, portable: true }, [name]);
  return fs.readFileSync(out);
}

test.serial('full disk at start: the pool and the tool say DISK_FULL in status, and both are retried with backoff until there is room', async (t) => {
  t.timeout(3 * 60_000);
  const disk = tmpfs(t, 2048);
  if (!disk) return;
  const emu = await startEmulator({ runnerVersions: ['2.330.0'] });
  t.teardown(() => emu.close());
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-diskfull-'));
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));

  const rel = emu.runnerRelease('2.330.0');
  const tarball = path.join(work, rel.filename);
  fs.writeFileSync(tarball, Buffer.from(await (await fetch(rel.url)).arrayBuffer()));
  const runner = await bigRunner(tarball, work);
  const runnerUrl = emu.serveFile('mirror/actions-runner-linux-x64-2.330.0.tar.gz', runner);
  const tool = await tgz(work, 'helm', Buffer.concat([Buffer.from('#!/bin/sh\necho helm v3\nexit 0\n'), padding()]));
  const toolUrl = emu.serveFile('helm/v3.0.0/helm-linux-amd64.tar.gz', tool).replace('v3.0.0', '{version}');
  const extra = `runner: { version: 2.330.0, url: "${runnerUrl}", sha256: ${sha(runner)} }
tools:
  - { name: helm, version: v3.0.0, url: "${toolUrl}", sha256: ${sha(tool)} }
`;
  let fx: DaemonFixture | undefined;
  t.teardown(() => fx?.stop('keep'));
  // Floors off: this is about the write that meets ENOSPC. With host.capacity's defaults (5 GiB
  // disk, 512 MiB memory) the pool says HOST_CAPACITY before it downloads anything (the contract's
  // admission rule, tested in host-capacity.test.ts), and on a loaded host the memory floor too.
  fx = await startTestDaemon(t, emu, poolYaml({ name: 'cd', size: 1 }), { extra, dir: disk.dir, capacity: { minFreeDisk: 0, minFreeMemory: 0 } });

  let last: unknown;
  const full = await until(async () => {
    const s = await httpStatus(fx!);
    last = { pools: s.pools, tools: s.tools };
    return s.pools[0]?.errorCode === 'DISK_FULL' && s.tools.some((x) => x.errorCode === 'DISK_FULL') ? s : undefined;
  }, 60_000, 'DISK_FULL in status').catch((err: Error) => {
    throw new Error(`${err.message}; last status ${JSON.stringify(last)}`);
  });
  t.false(full.pools[0]!.healthy);
  t.is(full.pools[0]!.actual, 0);
  t.false(fs.existsSync(path.join(fx.config.host.dataDir, 'cache', 'runner', '2.330.0')), 'no truncated runner in the cache');

  // Room again: the retries (not the daily update schedule) finish the job.
  disk.grow(64 * 1024);
  await emu.waitForRunners((rs) => rs.some((r) => r.status === 'online'), 60_000);
  const ok = await until(async () => {
    const s = await httpStatus(fx!);
    return s.pools[0]?.errorCode === undefined && s.tools.some((x) => x.name === 'helm' && x.installed) ? s : undefined;
  }, 60_000, 'errors cleared');
  t.true(ok.pools[0]!.actual >= 1);
});

test.serial('leftovers of a crashed download or install (.tmp-*) are removed at start; a live writer\'s are kept', async (t) => {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-sweep-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const data = path.join(dir, 'data');
  const dead = spawnSync('true').pid!;
  const runnerCache = path.join(data, 'cache', 'runner');
  const toolDir = path.join(data, 'tools', 'helm', 'v3.0.0');
  const leftovers = [
    path.join(runnerCache, `.tmp-${dead}-2.330.0-0a0b0c0d.d`),
    path.join(toolDir, `.tmp-${dead}-x64-0a0b0c0d`),
  ];
  const oldFormat = path.join(runnerCache, '.tmp-2.329.0-deadbeef.d'); // before pids were in the name
  const live = path.join(runnerCache, `.tmp-${process.pid}-2.331.0-01020304.d`);
  for (const d of [...leftovers, oldFormat, live]) {
    fs.mkdirSync(path.join(d, 'bin'), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(d, 'bin', 'Runner.Listener'), 'truncated');
  }
  const tarball = path.join(runnerCache, `.tmp-${dead}-2.330.0-0a0b0c0d.tar.gz`);
  fs.writeFileSync(tarball, 'partial');
  const marker = path.join(toolDir, `x64.complete.${dead}.tmp`);
  fs.writeFileSync(marker, '{');
  const hourAgo = new Date(Date.now() - 2 * 3_600_000);
  fs.utimesSync(oldFormat, hourAgo, hourAgo);
  fs.chmodSync(data, 0o700);

  const fx = await startTestDaemon(t, emu, poolYaml({ name: 'cd', size: 0 }), { dir });
  t.teardown(() => fx.stop('keep'));
  for (const p of [...leftovers, oldFormat, tarball, marker]) t.false(fs.existsSync(p), `${path.basename(p)} left behind`);
  t.true(fs.existsSync(live), "a live process's staging dir is not ours to remove");
});
