import { readdirSync, readFileSync } from 'node:fs';

/** What /proc says about a pid: enough to tell "our process" from a recycled pid. */
export interface ProcInfo {
  /** Field 22 of /proc/{pid}/stat: start time in clock ticks since boot (kept as a string). */
  startTime: string;
  /** Field 3: R, S, D, Z (zombie), T... */
  state: string;
  /** Field 5: process group id. */
  pgrp: number;
  /** /proc/{pid}/cmdline split on NUL; empty for zombies and kernel threads. */
  cmdline: string[];
}

/** Reads /proc synchronously (a few hundred bytes); null when the pid does not exist. */
export function readProc(pid: number): ProcInfo | null {
  const stat = readStat(pid);
  if (!stat) return null;
  let cmdline: string[] = [];
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    cmdline = raw.length ? raw.replace(/\0$/, '').split('\0') : [];
  } catch {
    // gone between the two reads: treat as absent
    return null;
  }
  return { ...stat, cmdline };
}

function readStat(pid: number): Omit<ProcInfo, 'cmdline'> | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // comm (field 2) may contain spaces and parentheses: parse after the LAST ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3, so field N is rest[N - 3].
  return { state: rest[0] ?? '?', pgrp: Number(rest[2]), startTime: rest[19] ?? '' };
}

export interface ProcessIdentity {
  pid: number;
  startTime: string;
  cmdline: string[];
}

/**
 * True only when the pid is alive AND is the very process we started (same start time, same
 * argv). A zombie counts as dead: its exit status is all that is left of it.
 */
export function isSameProcess(id: ProcessIdentity): boolean {
  const info = readProc(id.pid);
  if (!info || info.state === 'Z' || info.state === 'X') return false;
  if (info.startTime !== id.startTime) return false;
  return sameArgv(info.cmdline, id.cmdline);
}

function sameArgv(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * Does the process group still have live members? kill(-pgid, 0) is the cheap answer, but
 * zombies count there, and an init that reaps lazily keeps them around: so confirm by
 * scanning /proc for a non-zombie member.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    // EPERM: members exist but belong to someone else; they are alive all the same.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return true;
  }
  return pids.some((p) => {
    const info = readStat(Number(p));
    return !!info && info.pgrp === pgid && info.state !== 'Z' && info.state !== 'X';
  });
}

/** Signals a whole process group; "already gone" is not an error. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Live pids whose real or effective uid is `uid` (/proc/{pid}/status). */
export function pidsOfUid(uid: number): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const e of entries) {
    let status: string;
    try {
      status = readFileSync(`/proc/${e}/status`, 'utf8');
    } catch {
      continue;
    }
    const ids = /^Uid:\s+(\d+)\s+(\d+)/m.exec(status);
    const state = /^State:\s+(\S)/m.exec(status)?.[1];
    if (ids && (Number(ids[1]) === uid || Number(ids[2]) === uid) && state !== 'Z' && state !== 'X') out.push(Number(e));
  }
  return out;
}
