/**
 * A scale-set pool (scale.via: scaleset) on the process backend, against the emulator's runner
 * scale-set service with GitHub's 50 s long-poll hold:
 *   - job queued → runner registered (p50/p95): the long poll must answer at once;
 *   - REST calls that cost rate limit per ephemeral job in steady state (JIT configs, acks and
 *     deregistration go through the Actions service, which has no REST rate limit);
 *   - an idle pool: long polls per hour and REST calls per hour.
 */
import { startEmulator } from '../test/emulator/index.js';
import type { Emulator, RequestCount } from '../test/emulator/types.js';
import { countCalls, errText, ownedBy, percentile, round, sleep, startBenchDaemon, waitFor, type Figure, type ScenarioResult } from './lib.js';

const LABELS = ['cd-burst'];
const GITHUB_HOLD_MS = 50_000;
const PRODUCTION_LIST_EVERY_MS = 120_000;
/** The admin JWT lives 1 h; each reconnect reads the (cached) registration token: at most 1/h per scope. */
const ADMIN_RECONNECTS_PER_HOUR = 1;

const pool = (max: number) => `  - name: burst
    scope: { org: acme }
    labels: [${LABELS.join(', ')}]
    backend: process
    scale: { minIdle: 0, max: ${max}, idleTimeout: 1m, via: scaleset }
    env: { RUNNER_ALLOW_RUNASROOT: "1" }
`;

/** Scale-set service and message-queue calls are not REST: no rate limit. */
const restOnly = (reqs: RequestCount[]) => reqs.filter((r) => !r.route.startsWith('/_queue') && !r.route.startsWith('/_runner'));

function watchRegistered(emu: Emulator, pattern: RegExp): { registered: Map<string, number>; stop(): void } {
  const registered = new Map<string, number>();
  const timer = setInterval(() => {
    const now = Date.now();
    for (const r of emu.runners()) if (pattern.test(r.name) && !registered.has(r.name)) registered.set(r.name, now);
  }, 2);
  return { registered, stop: () => clearInterval(timer) };
}

export async function scaleSetBench(opts: { waves: number[]; steadyJobs: number; idleWindowMs: number; idleHoldMs: number; targetP95Ms: number }): Promise<ScenarioResult> {
  const t0 = Date.now();
  const res: ScenarioResult = { name: 'scaleset', figures: [], notes: [], seconds: 0 };
  const latency = await latencyAndCalls(opts, res);
  const idle = await idlePool(opts, res);
  const fig = (key: string, label: string, value: number | null, unit: string, extra: Partial<Figure> = {}): Figure => ({ key: `scaleset.${key}`, label: `scale set: ${label}`, value, unit, ...extra });
  res.figures = [
    fig('registered.p50_ms', 'job queued → registered p50', round(percentile(latency.samples, 50)), 'ms', { note: `${latency.samples.length} jobs in waves of ${opts.waves.join(', ')}, process backend, minIdle 0, emulator hold 50 s (the poll must answer at once)` }),
    fig('registered.p95_ms', 'job queued → registered p95', round(percentile(latency.samples, 95)), 'ms', { target: opts.targetP95Ms }),
    fig('rest_calls_per_job', 'REST calls per ephemeral job (steady state)', latency.restPerJob, 'calls', { target: 0, note: latency.restNote }),
    fig('service_calls_per_job', '  scale-set service calls per job (no rate limit)', latency.servicePerJob, 'calls'),
    fig('idle.long_polls_per_hour', 'idle pool: long polls per hour', idle.pollsPerHour, 'polls/h', { note: idle.pollNote }),
    fig('idle.rest_calls_per_hour', 'idle pool: REST calls per hour', idle.restPerHour, 'calls/h', { note: idle.restNote }),
  ];
  res.detail = { latency: latency.detail, idle: idle.detail };
  res.seconds = (Date.now() - t0) / 1000;
  return res;
}

async function latencyAndCalls(opts: { waves: number[]; steadyJobs: number }, res: ScenarioResult) {
  const out = { samples: [] as number[], restPerJob: null as number | null, servicePerJob: null as number | null, restNote: '', detail: {} as Record<string, unknown> };
  const emu = await startEmulator({ scaleSets: { holdMs: GITHUB_HOLD_MS } });
  const max = Math.max(...opts.waves);
  const bd = await startBenchDaemon(emu, pool(max)).catch(async (err) => {
    await emu.close();
    throw err;
  });
  const watch = watchRegistered(emu, ownedBy('burst'));
  try {
    await waitFor(() => emu.scaleSets.get('h1-burst')?.sessionOwner === 'h1', 30_000);
    for (const [i, size] of [1, ...opts.waves].entries()) {
      const queuedAt = Date.now();
      const ids = Array.from({ length: size }, () => emu.queueJob({ labels: LABELS, durationMs: 300 }));
      if (!(await waitFor(() => ids.every((id) => emu.job(id)?.status === 'completed'), 60_000))) {
        res.notes.push(`wave ${i} (${size} jobs) did not complete within 60 s`);
        break;
      }
      // The first (cold) job is not counted.
      if (i > 0) for (const id of ids) out.samples.push(watch.registered.get(emu.job(id)!.runnerName!)! - queuedAt);
      await waitFor(() => bd.daemon.reconciler.liveCount('burst') === 0, 30_000);
    }
    // Steady state: one job after another on an empty pool, every call counted.
    await bd.daemon.reconciler.settled();
    emu.resetRequests();
    for (let i = 0; i < opts.steadyJobs; i++) {
      const id = emu.queueJob({ labels: LABELS, durationMs: 100 });
      await waitFor(() => emu.job(id)?.status === 'completed', 30_000);
      await waitFor(() => bd.daemon.reconciler.liveCount('burst') === 0, 30_000);
    }
    const reqs = emu.requests();
    const rest = countCalls(restOnly(reqs));
    const service = reqs.filter((r) => r.route.startsWith('/_queue') || r.route.startsWith('/_runner/_apis')).reduce((n, r) => n + r.count, 0);
    out.restPerJob = round(rest.limited / opts.steadyJobs, 2);
    out.servicePerJob = round(service / opts.steadyJobs, 1);
    out.restNote = `${rest.limited} rate-limited REST calls over ${opts.steadyJobs} jobs (${JSON.stringify(rest.byRoute)}); the runner list (every 120 s, 304 when unchanged) and the hourly registration token for the admin connection are outside a job`;
    out.detail = { restByRoute: rest.byRoute, samples: out.samples };
  } catch (err) {
    res.notes.push(`scale-set latency failed: ${errText(err)}`);
  } finally {
    watch.stop();
    await bd.stop('drain').catch((err) => res.notes.push(`daemon stop: ${errText(err)}`));
    await emu.close();
  }
  return out;
}

async function idlePool(opts: { idleWindowMs: number; idleHoldMs: number }, res: ScenarioResult) {
  const out = { pollsPerHour: null as number | null, restPerHour: null as number | null, pollNote: '', restNote: '', detail: {} as Record<string, unknown> };
  const emu = await startEmulator({ scaleSets: { holdMs: opts.idleHoldMs } });
  const listEveryMs = 5000;
  const bd = await startBenchDaemon(emu, pool(5), { githubListIntervalMs: listEveryMs, daemon: { scaleSetListener: { holdMs: opts.idleHoldMs } } }).catch(async (err) => {
    await emu.close();
    throw err;
  });
  try {
    await waitFor(() => emu.scaleSets.get('h1-burst')?.sessionOwner === 'h1', 30_000);
    await sleep(listEveryMs + 1500);
    emu.resetRequests();
    const polls0 = emu.scaleSets.get('h1-burst')!.polls;
    await sleep(opts.idleWindowMs);
    const polls = emu.scaleSets.get('h1-burst')!.polls - polls0;
    const reqs = restOnly(emu.requests());
    const lists = reqs.filter((r) => r.method === 'GET' && r.route === '/orgs/{org}/actions/runners');
    const listCount = lists.reduce((n, r) => n + r.count, 0);
    const listLimited = lists.filter((r) => r.status !== 304).reduce((n, r) => n + r.count, 0);
    const all = countCalls(reqs);
    const hours = opts.idleWindowMs / 3_600_000;
    // Polls scale with the hold: at GitHub's 50 s hold, this many per hour.
    out.pollsPerHour = round((polls / hours) * (opts.idleHoldMs / GITHUB_HOLD_MS), 1);
    out.pollNote = `${polls} polls in ${opts.idleWindowMs / 1000} s at a ${opts.idleHoldMs / 1000} s hold, scaled to GitHub's 50 s hold (3600 / 50 = 72 is the floor)`;
    const otherPerHour = (all.limited - listLimited) / hours;
    const listsPerHour = (listCount > 0 ? listLimited / listCount : 1) * (3_600_000 / PRODUCTION_LIST_EVERY_MS);
    out.restPerHour = round(otherPerHour + listsPerHour + ADMIN_RECONNECTS_PER_HOUR, 2);
    out.restNote = `${round(otherPerHour, 2)} (non-list calls in the window) + ${round(listsPerHour, 2)} (30 runner lists/h × ${listLimited}/${listCount} not 304) + ${ADMIN_RECONNECTS_PER_HOUR} (registration token for the hourly admin reconnect)`;
    out.detail = { polls, lists: listCount, listLimited, restByRoute: all.byRoute };
  } catch (err) {
    res.notes.push(`scale-set idle failed: ${errText(err)}`);
  } finally {
    await bd.stop('drain').catch((err) => res.notes.push(`daemon stop: ${errText(err)}`));
    await emu.close();
  }
  return out;
}
