/**
 * Planner time: the pure plan() on synthetic observations of 100 and 1,000 runners (pools of
 * 50: idle, busy by hook/row/GitHub, a few exited, a scale pool with queued jobs, a ghost per
 * pool, the GitHub list for every pool). Median wall time of many runs after a warm-up.
 */
import type { ObservedRunner } from '../src/backends/types.js';
import { runnerNamePattern } from '../src/config/names.js';
import type { GitHubRunner } from '../src/github/types.js';
import { plan } from '../src/reconcile/planner.js';
import type { JobHookState, Observation, PoolView } from '../src/reconcile/types.js';
import type { RunnerRow } from '../src/store/types.js';
import { median, percentile, round, type ScenarioResult } from './lib.js';

const PER_POOL = 50;
const NOW = 1_700_000_000_000;

export function syntheticObservation(runners: number): Observation {
  const pools: PoolView[] = [];
  const rows: RunnerRow[] = [];
  const observed: ObservedRunner[] = [];
  const hooks = new Map<string, JobHookState>();
  const github = new Map<string, GitHubRunner[]>();
  let id = 1;
  for (let p = 0; p * PER_POOL < runners; p++) {
    const name = `pool${p}`;
    const count = Math.min(PER_POOL, runners - p * PER_POOL);
    const scale = p % 2 === 1;
    pools.push({
      name, backend: 'process', ephemeral: true,
      ...(scale ? { scale: { minIdle: 5, max: count + 10, idleTimeoutMs: 300_000 } } : { size: count }),
      targetVersion: '2.330.0', canCreate: true, draining: false, queuedJobs: scale ? 3 : 0,
      namePattern: runnerNamePattern('h1', name),
    });
    const regs: GitHubRunner[] = [];
    for (let i = 0; i < count; i++) {
      const rn = `h1-${name}-${i.toString(36).padStart(8, '0')}`;
      const busy = i % 3 === 0;
      const exited = i % 25 === 7;
      rows.push({
        name: rn, pool: name, backend: 'process', state: busy && i % 2 === 0 ? 'busy' : 'idle', ephemeral: true,
        version: i % 10 === 0 ? '2.329.0' : '2.330.0', githubId: id, labels: ['self-hosted', 'linux', 'x64'],
        busy: busy && i % 2 === 0, ranJob: busy, jobName: null, createdAt: NOW - 600_000, startedAt: NOW - 590_000,
        updatedAt: NOW - 60_000, lastExitCode: null, lastError: null, reason: null,
      });
      observed.push({ name: rn, pool: name, backend: 'process', state: exited ? 'exited' : 'running', ...(exited ? { exitCode: 0 } : {}), startedAt: NOW - 590_000, ref: String(1000 + id) });
      if (busy) hooks.set(rn, { state: 'busy', at: NOW - 10_000 });
      else if (i % 4 === 1) hooks.set(rn, { state: 'idle', at: NOW - 400_000 });
      regs.push({ id, name: rn, os: 'linux', status: 'online', busy: busy && i % 2 === 1, labels: ['self-hosted', 'linux', 'x64'] });
      id++;
    }
    regs.push({ id: id++, name: `h1-${name}-zzzzzzzz`, os: 'linux', status: 'offline', busy: false, labels: [] });
    github.set(name, regs);
  }
  return { now: NOW, host: 'h1', pools, rows, observed, unavailable: [], github, hooks };
}

function timePlan(runners: number, minRuns: number, minMs: number): { medianMs: number; p95Ms: number; runs: number; actions: number } {
  const obs = syntheticObservation(runners);
  let actions = 0;
  for (let i = 0; i < 20; i++) actions = plan(obs).length; // warm-up (JIT)
  const samples: number[] = [];
  const started = performance.now();
  while (samples.length < minRuns || performance.now() - started < minMs) {
    const t = performance.now();
    plan(obs);
    samples.push(performance.now() - t);
    if (samples.length > 100_000) break;
  }
  return { medianMs: median(samples)!, p95Ms: percentile(samples, 95)!, runs: samples.length, actions };
}

export async function plannerBench(opts: { sizes: number[]; targetMs?: Record<number, number> }): Promise<ScenarioResult> {
  const t0 = Date.now();
  const res: ScenarioResult = { name: 'planner', figures: [], notes: [], seconds: 0, detail: {} };
  for (const n of opts.sizes) {
    const r = timePlan(n, 200, 1500);
    const target = opts.targetMs?.[n];
    res.figures.push({
      key: `planner.runners_${n}.median_ms`,
      label: `planner: plan() with ${n.toLocaleString('en-US')} runners (median)`,
      value: round(r.medianMs, 3),
      unit: 'ms',
      ...(target !== undefined ? { target } : {}),
      note: `${r.runs} runs, p95 ${round(r.p95Ms, 3)} ms, ${r.actions} actions per plan`,
    });
    res.detail![`runners_${n}`] = r;
  }
  res.seconds = (Date.now() - t0) / 1000;
  return res;
}
