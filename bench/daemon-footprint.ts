/**
 * Daemon RSS and CPU with 100 process runners. The daemon runs as its own process
 * (`runner-fleet daemon -c FILE`) against the emulator in this process; once every runner is
 * online and the daemon has settled, RSS is read from /proc/PID/status (VmRSS, sampled each
 * second; VmHWM is the peak since start) and CPU from /proc/PID/stat (utime+stime over the
 * window). Then SIGTERM: the daemon drains (deregisters and stops all 100) and exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmulator } from '../test/emulator/index.js';
import { emulatorConfigYaml, poolYaml } from '../test/helpers/daemon.js';
import { daemonEntry, REPO } from './entry.js';
import { errText, ownedBy, round, sleep, waitFor, type ScenarioResult } from './lib.js';

const CLK_TCK = 100; // Linux USER_HZ on every mainstream kernel

interface ProcStatus {
  rssKiB: number;
  hwmKiB: number;
  anonKiB: number;
  fileKiB: number;
  shmemKiB: number;
  threads: number;
}

function procStatus(pid: number): ProcStatus | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? NaN);
    return { rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM'), anonKiB: kib('RssAnon'), fileKiB: kib('RssFile'), shmemKiB: kib('RssShmem'), threads: kib('Threads') };
  } catch {
    return null;
  }
}

function cpuTicks(pid: number): number | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return null;
  }
}

/** Processes whose command line mentions `dir` (the runners this bench's daemon started). */
function processesUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(dir)) pids.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.once('exit', (code) => r(code)));
}

/**
 * The environment the shipped unit gives the daemon (its `Environment=` lines: NODE_OPTIONS,
 * MALLOC_ARENA_MAX...), read from systemd/runner-fleet.service so the bench cannot drift from it.
 */
export function unitEnvironment(unit = path.join(REPO, 'systemd/runner-fleet.service')): Record<string, string> {
  const env: Record<string, string> = {};
  for (const m of fs.readFileSync(unit, 'utf8').matchAll(/^Environment=([A-Za-z_][A-Za-z0-9_]*)=(.*)$/gm)) env[m[1]!] = m[2]!.trim();
  return env;
}

export async function daemonFootprint(opts: {
  runners: number;
  /** Idle time after the last runner came online and before the window: start-up is not idle. */
  settleMs: number;
  windowMs: number;
  targetRssMB: number;
  targetCpuPct?: number;
  /** Added to (or replacing) the unit's environment. */
  env?: Record<string, string>;
  /** Extra node flags NODE_OPTIONS refuses (--cpu-prof...); BENCH_CPU_PROF=DIR sets --cpu-prof there. */
  nodeArgs?: string[];
}): Promise<ScenarioResult> {
  const t0 = Date.now();
  const res: ScenarioResult = { name: 'daemon-footprint', figures: [], notes: [], seconds: 0, detail: {} };
  const entry = daemonEntry();
  res.notes.push(`daemon child: ${entry.how}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rf-bench-rss-'));
  const dataDir = path.join(dir, 'data');
  // Sessions long-poll 20 s, as GitHub's do (~50 s): 100 runners make ~5 polls/s.
  const emu = await startEmulator({ pollTimeoutMs: 20_000 });
  const cfg = path.join(dir, 'config.yaml');
  // Production reconcile cadence (10 s) rather than the tests' 1 s.
  fs.writeFileSync(cfg, emulatorConfigYaml(emu, dataDir, poolYaml({ name: 'cd', size: opts.runners, ephemeral: true })).replace('interval: 1s', 'interval: 10s').replace('drainTimeout: 30s', 'drainTimeout: 60s'));
  const log = fs.openSync(path.join(dir, 'daemon.log'), 'w');
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_CPU_PROF)}`] : [];
  const child = spawn(entry.argv[0]!, [...prof, ...(opts.nodeArgs ?? []), ...entry.argv.slice(1), 'daemon', '-c', cfg], {
    cwd: REPO,
    env: { ...unitEnvironment(), PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, ...opts.env },
    stdio: ['ignore', log, log],
  });
  const pid = child.pid!;
  const mine = ownedBy('cd');
  const online = () => emu.runners().filter((r) => mine.test(r.name) && r.status === 'online').length;
  try {
    const startedAt = Date.now();
    const up = await waitFor(() => online() === opts.runners || child.exitCode !== null, 180_000, 250);
    const upMs = Date.now() - startedAt;
    if (child.exitCode !== null) throw new Error(`daemon exited with ${child.exitCode}; see ${path.join(dir, 'daemon.log')}`);
    if (!up) res.notes.push(`only ${online()}/${opts.runners} runners online after 180 s; measuring anyway`);
    res.figures.push({ key: 'footprint.all_online_s', label: `daemon: ${opts.runners} process runners online after`, value: round(upMs / 1000, 1), unit: 's', note: 'from daemon spawn; JIT registrations are spaced 250 ms apart (write pacing)' });
    const atOnline = procStatus(pid);
    // Start-up (downloads, 100 registrations, the first GitHub list) leaves garbage and malloc
    // fragments; V8's memory reducer returns them once allocation has been quiet for a while.
    await sleep(opts.settleMs);
    const samples: ProcStatus[] = [];
    const ticks0 = cpuTicks(pid);
    const w0 = performance.now();
    while (performance.now() - w0 < opts.windowMs) {
      const s = procStatus(pid);
      if (s) samples.push(s);
      await sleep(1000);
    }
    const ticks1 = cpuTicks(pid);
    const wallS = (performance.now() - w0) / 1000;
    const st = procStatus(pid);
    // BENCH_SMAPS=FILE keeps the daemon's /proc/PID/smaps (which mapping holds the RSS).
    if (process.env.BENCH_SMAPS) fs.writeFileSync(path.resolve(process.env.BENCH_SMAPS), fs.readFileSync(`/proc/${pid}/smaps`));
    const cpuPct = ticks0 !== null && ticks1 !== null ? ((ticks1 - ticks0) / CLK_TCK / wallS) * 100 : null;
    const MB = 1024 / 1e6; // KiB → MB (10^6 bytes), the unit of the target
    const rss = samples.map((x) => x.rssKiB);
    // The split is read at the sample with the largest RSS, so anon + file (+ shmem) add up to it.
    const top = samples.length ? samples.reduce((a, b) => (b.rssKiB > a.rssKiB ? b : a)) : null;
    const maxRss = top ? top.rssKiB * MB : null;
    const meanRss = rss.length ? (rss.reduce((a, b) => a + b, 0) / rss.length) * MB : null;
    res.figures.push(
      { key: 'footprint.rss_mb', label: `daemon RSS with ${opts.runners} idle process runners (max over ${round(opts.windowMs / 1000, 0)} s, after ${round(opts.settleMs / 1000, 0)} s idle)`, value: round(maxRss, 1), unit: 'MB', target: opts.targetRssMB, note: `mean ${round(meanRss, 1)} MB over ${rss.length} samples; ${online()} runners online` },
      { key: 'footprint.rss_online_mb', label: '  daemon RSS when the last runner came online (start-up)', value: round(atOnline ? atOnline.rssKiB * MB : null, 1), unit: 'MB' },
      { key: 'footprint.rss_peak_mb', label: '  daemon peak RSS since start (VmHWM)', value: round(st ? st.hwmKiB * MB : null, 1), unit: 'MB' },
      { key: 'footprint.rss_anon_mb', label: '  of which anonymous (heap, stacks: RssAnon)', value: round(top ? top.anonKiB * MB : null, 1), unit: 'MB' },
      { key: 'footprint.rss_file_mb', label: '  of which file-backed (node binary, shared: RssFile)', value: round(top ? top.fileKiB * MB : null, 1), unit: 'MB' },
      { key: 'footprint.cpu_pct', label: `daemon CPU, idle fleet of ${opts.runners} (${round(wallS, 0)} s window)`, value: round(cpuPct, 2), unit: '% of a core', target: opts.targetCpuPct },
    );
    res.detail = { rssKiB: rss, threads: st?.threads ?? null, cpuTicks: ticks0 !== null && ticks1 !== null ? ticks1 - ticks0 : null };

    const stopAt = Date.now();
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([exited(child), new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 120_000)))]);
    clearTimeout(timer);
    if (code === 'timeout') res.notes.push('daemon did not finish draining within 120 s');
    else {
      res.figures.push({ key: 'footprint.drain_s', label: `daemon: SIGTERM drain of ${opts.runners} idle runners`, value: round((Date.now() - stopAt) / 1000, 1), unit: 's', note: `exit code ${code}; ${emu.runners().filter((r) => mine.test(r.name)).length} registrations left` });
    }
  } catch (err) {
    res.notes.push(`footprint bench failed: ${errText(err)}`);
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited(child);
    }
    // Anything the daemon left behind (only after a failure): processes started under our temp dir.
    for (const p of processesUnder(dataDir)) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    fs.closeSync(log);
    await emu.close();
    if (res.notes.some((n) => n.includes('failed'))) res.notes.push(`daemon log kept in ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
  res.seconds = (Date.now() - t0) / 1000;
  return res;
}
