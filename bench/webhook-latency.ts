/**
 * Webhook → runner latency. A scale pool (minIdle 0) fed by the emulator's signed workflow_job
 * deliveries; jobs are queued in waves. For every job we time, from the moment the emulator
 * queues it (and fires the `queued` delivery):
 *   registered — the JIT registration exists on the (emulated) GitHub;
 *   online     — the runner's listener holds a session (it can take the job).
 * Registration and session times are sampled from the emulator every 2 ms.
 */
import Dockerode from 'dockerode';
import { startEmulator } from '../test/emulator/index.js';
import type { Emulator } from '../test/emulator/types.js';
import { TEST_IMAGE } from '../test/helpers/engines.js';
import { errText, JOB_LABELS, ownedBy, percentile, round, scalePool, startBenchDaemon, waitFor, type Figure, type ScenarioResult } from './lib.js';

interface Options {
  backend: 'process' | 'docker';
  /** Jobs per wave; waves run one after another, each on an empty pool. */
  waves: number[];
  targetP95Ms: number;
}

/** First time each runner name was seen registered and online. */
function watchRunners(emu: Emulator, pattern: RegExp) {
  const registered = new Map<string, number>();
  const online = new Map<string, number>();
  const timer = setInterval(() => {
    const now = Date.now();
    for (const r of emu.runners()) {
      if (!pattern.test(r.name)) continue;
      if (!registered.has(r.name)) registered.set(r.name, now);
      if (r.status === 'online' && !online.has(r.name)) online.set(r.name, now);
    }
  }, 2);
  return { registered, online, stop: () => clearInterval(timer) };
}

export async function dockerProblem(): Promise<string | null> {
  const docker = new Dockerode();
  try {
    await docker.ping();
  } catch (err) {
    return `no Docker engine reachable (${errText(err)})`;
  }
  try {
    await docker.getImage(TEST_IMAGE).inspect();
  } catch {
    return `image ${TEST_IMAGE} missing (build it with scripts/test-env/setup.sh)`;
  }
  return null;
}

export async function webhookLatency(opts: Options): Promise<ScenarioResult> {
  const t0 = Date.now();
  const name = `webhook-latency-${opts.backend}`;
  const res: ScenarioResult = { name, figures: [], notes: [], seconds: 0 };
  const prefix = opts.backend;
  const empty = (key: string, label: string, target?: number): Figure => ({ key: `${prefix}.${key}`, label, value: null, unit: 'ms', ...(target !== undefined ? { target } : {}) });
  const placeholders = () => [
    empty('registered.p50_ms', `${opts.backend}: webhook → registered p50`),
    empty('registered.p95_ms', `${opts.backend}: webhook → registered p95`, opts.targetP95Ms),
    empty('online.p50_ms', `${opts.backend}: webhook → online p50`),
    empty('online.p95_ms', `${opts.backend}: webhook → online p95`),
  ];

  if (opts.backend === 'docker') {
    const problem = await dockerProblem();
    if (problem) {
      res.notes.push(`docker latency skipped: ${problem}`);
      res.figures = placeholders();
      res.seconds = (Date.now() - t0) / 1000;
      return res;
    }
  }

  const max = Math.max(...opts.waves);
  const dockerCfg = opts.backend === 'docker' ? `    docker: { image: ${TEST_IMAGE}, network: host, pull: never }\n` : '';
  const emu = await startEmulator();
  const bd = await startBenchDaemon(emu, scalePool('cd', opts.backend, max, dockerCfg)).catch(async (err) => {
    await emu.close();
    throw err;
  });
  const watch = watchRunners(emu, ownedBy('cd'));
  const registeredMs: number[] = [];
  const onlineMs: number[] = [];
  const waves: { jobs: number; registeredMs: number[]; onlineMs: number[] }[] = [];
  try {
    emu.setWebhook(bd.hookUrl, 'test-secret');
    // One cold job first (page cache, first node start, first JIT config): reported, not counted.
    const allWaves = [1, ...opts.waves];
    for (const [i, size] of allWaves.entries()) {
      const queuedAt = Date.now();
      const ids = Array.from({ length: size }, () => emu.queueJob({ labels: JOB_LABELS, durationMs: 300, name: `bench-${i}` }));
      const done = await waitFor(() => ids.every((id) => emu.job(id)?.status === 'completed'), 60_000);
      if (!done) {
        res.notes.push(`wave ${i} (${size} jobs): not all jobs completed within 60 s`);
        break;
      }
      const wave = { jobs: size, registeredMs: [] as number[], onlineMs: [] as number[] };
      for (const id of ids) {
        const runner = emu.job(id)!.runnerName!;
        const reg = watch.registered.get(runner);
        const on = watch.online.get(runner);
        if (reg !== undefined) wave.registeredMs.push(reg - queuedAt);
        if (on !== undefined) wave.onlineMs.push(on - queuedAt);
      }
      waves.push(wave);
      if (i > 0) {
        registeredMs.push(...wave.registeredMs);
        onlineMs.push(...wave.onlineMs);
      }
      // The next wave starts on an empty pool, as after a quiet period.
      const drained = await waitFor(() => bd.daemon.reconciler.liveCount('cd') === 0, 30_000);
      if (!drained) res.notes.push(`wave ${i}: pool did not return to 0 runners within 30 s`);
    }
  } catch (err) {
    res.notes.push(`${opts.backend} latency failed: ${errText(err)}`);
  } finally {
    watch.stop();
    await bd.stop('drain').catch((err) => res.notes.push(`daemon stop: ${errText(err)}`));
    await emu.close();
  }

  const jobs = registeredMs.length;
  const how = `${jobs} jobs in waves of ${opts.waves.join(', ')} on an empty scale pool (minIdle 0, max ${max}); from the emulator's queued delivery`;
  const measured = waves.slice(1);
  const pick = (size: (n: number) => boolean, k: 'registeredMs' | 'onlineMs') => measured.filter((w) => size(w.jobs)).flatMap((w) => w[k]);
  const single = (k: 'registeredMs' | 'onlineMs') => pick((n) => n === 1, k);
  const burst = (k: 'registeredMs' | 'onlineMs') => pick((n) => n > 1, k);
  const fig = (key: string, label: string, samples: number[], p: number, extra: Partial<Figure> = {}): Figure => ({
    key: `${prefix}.${key}`, label: `${opts.backend}: ${label}`, value: round(percentile(samples, p)), unit: 'ms', ...extra,
  });
  res.figures = [
    fig('registered.p50_ms', 'webhook → registered p50', registeredMs, 50, { note: how }),
    fig('registered.p95_ms', 'webhook → registered p95', registeredMs, 95, { target: opts.targetP95Ms }),
    fig('online.p50_ms', 'webhook → online p50', onlineMs, 50),
    fig('online.p95_ms', 'webhook → online p95', onlineMs, 95),
    fig('single.registered.p95_ms', '  one job at a time → registered p95', single('registeredMs'), 95),
    fig('single.online.p95_ms', '  one job at a time → online p95', single('onlineMs'), 95),
    fig('burst.registered.p95_ms', '  bursts of 5 → registered p95', burst('registeredMs'), 95, {
      note: 'JIT registrations are POSTs, which the GitHub client spaces 250 ms apart (src/github/client.ts writeIntervalMs): the k-th runner of a burst registers ≈ (k-1) × 250 ms after the first',
    }),
    fig('cold.registered_ms', 'first (cold) runner → registered', waves[0]?.registeredMs ?? [], 50),
    fig('cold.online_ms', 'first (cold) runner → online', waves[0]?.onlineMs ?? [], 50),
  ];
  res.detail = { waves };
  res.seconds = (Date.now() - t0) / 1000;
  return res;
}
