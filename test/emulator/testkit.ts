/** Helpers for driving the fake runner by hand in tests: unpack a release, run its scripts. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { extract } from 'tar';
import { until } from '../helpers/poll.js';
import type { Emulator } from './types.js';

/** Downloads the emulator's runner tarball (checking its sha256) and unpacks it into a fresh temp dir. */
export async function unpackRunner(emu: Emulator, version = '2.330.0', arch: 'x64' | 'arm64' = 'x64'): Promise<string> {
  const url = emu.runnerRelease(version, arch).url;
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`download ${url}: ${res.status}`);
  const bytes = Buffer.from(await res.arrayBuffer());
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fake-runner-'));
  const file = path.join(dir, '..', `${path.basename(dir)}.tar.gz`);
  await writeFile(file, bytes);
  await extract({ file, cwd: dir });
  await rm(file, { force: true });
  return dir;
}

export interface Proc {
  child: ChildProcess;
  /** Exit code (signal → 128+n). */
  exited: Promise<number>;
  output(): string;
  /** Resolves once output contains `text` (or rejects after timeoutMs). */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
}

/** Runs `file args` in `cwd` with a clean env (PATH, HOME) plus `env`. */
export function runIn(cwd: string, file: string, args: string[], env: Record<string, string | undefined> = {}): Proc {
  const child = spawn(path.join(cwd, file), args, {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME ?? cwd, ...env } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number>((resolve) => {
    child.on('close', (code, signal) => resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0)));
  });
  return {
    child,
    exited,
    output: () => out,
    async waitFor(text, timeoutMs = 15_000) {
      await until(() => {
        if (out.includes(text)) return true;
        if (child.exitCode !== null) throw new Error(`exited before "${text}" appeared in output:\n${out}`);
        return false;
      }, timeoutMs, `"${text}" in output`, 25).catch((err: Error) => {
        throw new Error(`${err.message}; output so far:\n${out}`);
      });
    },
  };
}

/** Runs to completion; returns the exit code and output. */
export async function runToEnd(cwd: string, file: string, args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; output: string }> {
  const p = runIn(cwd, file, args, env);
  const code = await p.exited;
  return { code, output: p.output() };
}
