/**
 * Shared pieces of the benchmark: result shape, statistics, GitHub call counting, and a daemon
 * started against the emulator with bench-friendly settings. The bench measures and reports;
 * it never asserts (a MISS is printed, the run still exits 0).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { createLogger, silentLogger } from '../src/log.js';
import { startDaemon, type Daemon, type DaemonOptions } from '../src/daemon/start.js';
import type { Emulator, RequestCount } from '../test/emulator/types.js';
import { emulatorConfigYaml } from '../test/helpers/daemon.js';

/** One measured figure, compared with its target when it has one. */
export interface Figure {
  /** Stable key for the JSON document, e.g. process.registered.p95_ms */
  key: string;
  label: string;
  value: number | null;
  unit: string;
  /** "≤ 300 ms"-style target: value must be <= target. */
  target?: number;
  /** Free text shown under the table: what was measured and how. */
  note?: string;
}

export interface ScenarioResult {
  name: string;
  figures: Figure[];
  /** Why the scenario (or part of it) did not run, or what went wrong; printed, not fatal. */
  notes: string[];
  /** Raw data worth keeping in results.json (samples, per-route counts...). */
  detail?: Record<string, unknown>;
  seconds: number;
}

export type Verdict = 'PASS' | 'MISS' | 'n/a';

export function verdict(f: Figure): Verdict {
  if (f.target === undefined || f.value === null) return 'n/a';
  return f.value <= f.target ? 'PASS' : 'MISS';
}

/** Nearest-rank percentile of unsorted samples. */
export function percentile(samples: number[], p: number): number | null {
  if (samples.length === 0) return null;
  const s = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))]!;
}

export const median = (samples: number[]): number | null => percentile(samples, 50);
export const round = (n: number | null, digits = 1): number | null => (n === null ? null : Number(n.toFixed(digits)));

/**
 * Requests that cost GitHub rate limit: REST/app/public routes, not 304 (free on GitHub),
 * not the runner's own protocol (/_runner/..., /actions/runner-registration) and not file
 * downloads (release tarballs, served files), which GitHub does not count against the API.
 */
export function isRateLimited(r: RequestCount): boolean {
  if (r.status === 304) return false;
  if (r.route.startsWith('/_runner') || r.route === '/actions/runner-registration') return false;
  if (r.route.startsWith('/_files/') || r.route.startsWith('/actions/runner/releases/download/')) return false;
  return true;
}

export function countCalls(reqs: RequestCount[]): { limited: number; notModified: number; byRoute: Record<string, number> } {
  let limited = 0;
  let notModified = 0;
  const byRoute: Record<string, number> = {};
  for (const r of reqs) {
    if (r.status === 304 && !r.route.startsWith('/_runner')) notModified += r.count;
    if (!isRateLimited(r)) continue;
    limited += r.count;
    const key = `${r.method} ${r.route} ${r.status}`;
    byRoute[key] = (byRoute[key] ?? 0) + r.count;
  }
  return { limited, notModified, byRoute };
}

export interface BenchDaemon {
  dir: string;
  daemon: Daemon;
  hookUrl: string;
  stop(mode?: 'drain' | 'keep'): Promise<void>;
}

/**
 * The daemon in this process against the emulator (host h1, org acme, reconcile 1 s). GitHub's
 * runner list keeps the daemon's production cadence unless `githubListIntervalMs` is given.
 */
export async function startBenchDaemon(
  emu: Emulator,
  pools: string,
  opts: { extra?: string; githubListIntervalMs?: number; daemon?: Partial<DaemonOptions> } = {},
): Promise<BenchDaemon> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rf-bench-'));
  const configPath = path.join(dir, 'config.yaml');
  await fs.writeFile(configPath, emulatorConfigYaml(emu, path.join(dir, 'data'), pools, opts.extra));
  const config = await loadConfig(configPath, {});
  const daemon = await startDaemon({
    config,
    // BENCH_LOG=debug|info shows the daemon's log (on stdout) when a scenario misbehaves.
    logger: process.env.BENCH_LOG ? createLogger({ level: process.env.BENCH_LOG as 'info' }) : silentLogger(),
    ...(opts.githubListIntervalMs !== undefined ? { githubListIntervalMs: opts.githubListIntervalMs } : {}),
    ...opts.daemon,
  });
  // Tools and the runner download happen after start; scenarios measure from a ready daemon.
  await daemon.ready;
  let stopped = false;
  return {
    dir,
    daemon,
    hookUrl: `http://127.0.0.1:${daemon.apiPort}/webhook`,
    async stop(mode = 'drain') {
      if (stopped) return;
      stopped = true;
      await daemon.shutdown(mode);
      await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
    },
  };
}

/** Poll until fn() is truthy or the deadline passes (returns undefined then: the bench reports, never throws). */
export async function waitFor<T>(fn: () => T | Promise<T>, timeoutMs: number, everyMs = 50): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) return undefined;
    await sleep(everyMs);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const errText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Runner names this bench's daemon owns in a pool (host h1). */
export const ownedBy = (pool: string) => new RegExp(`^h1-${pool}-[a-z0-9]{6,}$`);

export const JOB_LABELS = ['self-hosted', 'linux', 'cd-pipeline'];

export function scalePool(name: string, backend: string, max: number, extra = ''): string {
  return `  - name: ${name}
    scope: { org: acme }
    labels: [cd-pipeline]
    backend: ${backend}
    scale: { minIdle: 0, max: ${max}, idleTimeout: 1m }
    ephemeral: true
    env: { RUNNER_ALLOW_RUNASROOT: "1" }
${extra}`;
}
