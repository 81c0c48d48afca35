import { promises as fs, readdirSync } from 'node:fs';
import path from 'node:path';
import { pidDir, type PidRecord } from './pidfile.js';
import { readProc } from './procfs.js';
import { SHIM_ARGV0 } from './spawn.js';

/**
 * Create is two steps: spawn the shim, then write its pid file. A daemon killed in between
 * leaves a runner nobody knows about. So a marker is written before the spawn and removed with
 * the pid file; a marker without a pid file at the next start means "look for the shim":
 * it is found by its exit-file argument, unique per runner, and recorded (adopted), or the
 * marker just goes.
 */
export interface StartingMarker {
  name: string;
  pool: string;
  host: string;
  root: string;
  /** The exit file the shim gets unless the runner runs as another user (then `{root}/.rf/process-exit`). */
  exitFileDefault: string;
  at: number;
}

export const STARTING_SUFFIX = '.starting';
const markerPath = (dataDir: string, name: string) => path.join(pidDir(dataDir), `${name}${STARTING_SUFFIX}`);

export async function writeStarting(dataDir: string, m: StartingMarker): Promise<void> {
  await fs.writeFile(markerPath(dataDir, m.name), JSON.stringify(m) + '\n', { mode: 0o600 });
}

export async function removeStarting(dataDir: string, name: string): Promise<void> {
  await fs.rm(markerPath(dataDir, name), { force: true });
}

export async function listStarting(dataDir: string): Promise<StartingMarker[]> {
  const names = await fs.readdir(pidDir(dataDir)).catch(() => [] as string[]);
  const out: StartingMarker[] = [];
  for (const f of names.filter((n) => n.endsWith(STARTING_SUFFIX))) {
    try {
      out.push(JSON.parse(await fs.readFile(path.join(pidDir(dataDir), f), 'utf8')) as StartingMarker);
    } catch {
      await fs.rm(path.join(pidDir(dataDir), f), { force: true });
    }
  }
  return out;
}

/** The shim a crashed create started for this marker, as a pid record; undefined if none runs. */
export function findShim(m: StartingMarker, now: number): PidRecord | undefined {
  const exitFiles = new Set([m.exitFileDefault, path.join(m.root, '.rf', 'process-exit')]);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const info = readProc(pid);
    // argv: sh -c SCRIPT rf-shim EXITFILE command...; the shim leads its own group.
    if (!info || info.cmdline[3] !== SHIM_ARGV0 || !exitFiles.has(info.cmdline[4] ?? '') || info.pgrp !== pid) continue;
    return {
      name: m.name, pool: m.pool, host: m.host, pid, startTime: info.startTime, cmdline: info.cmdline,
      startedAt: now, root: m.root, logFile: path.join(m.root, '_diag', 'rf-process.log'), exitFile: info.cmdline[4]!,
    };
  }
  return undefined;
}
