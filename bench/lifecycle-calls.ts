/**
 * Rate-limited GitHub calls per ephemeral runner lifecycle: K complete cycles of
 * webhook (queued) → JIT runner → job → exit → reaped, one after another on a scale pool with
 * minIdle 0. Counts REST requests the emulator answered (not 304, not the runner's own
 * protocol, not downloads) between the first delivery and the last reap, divided by K.
 * GitHub's runner list keeps its production cadence (every 120 s): its cost is a per-hour
 * figure for the whole fleet (see idle-fleet), not a per-runner one.
 */
import { startEmulator } from '../test/emulator/index.js';
import { countCalls, errText, JOB_LABELS, round, scalePool, startBenchDaemon, waitFor, type ScenarioResult } from './lib.js';

export async function lifecycleCalls(opts: { cycles: number; target: number }): Promise<ScenarioResult> {
  const t0 = Date.now();
  const res: ScenarioResult = { name: 'calls-per-lifecycle', figures: [], notes: [], seconds: 0 };
  const emu = await startEmulator();
  const bd = await startBenchDaemon(emu, scalePool('cd', 'process', 2)).catch(async (err) => {
    await emu.close();
    throw err;
  });
  let done = 0;
  let calls: ReturnType<typeof countCalls> | null = null;
  try {
    // Start-up traffic (runner group, downloads, first list) is not part of a lifecycle.
    await bd.daemon.reconciler.trigger();
    await bd.daemon.reconciler.settled();
    emu.resetRequests();
    emu.setWebhook(bd.hookUrl, 'test-secret');
    for (let i = 0; i < opts.cycles; i++) {
      const id = emu.queueJob({ labels: JOB_LABELS, durationMs: 100, name: `cycle-${i}` });
      const job = await waitFor(() => emu.job(id)?.status === 'completed', 30_000);
      const reaped = job && (await waitFor(() => bd.daemon.reconciler.liveCount('cd') === 0, 30_000));
      if (!reaped) {
        res.notes.push(`cycle ${i} did not complete (job ${job ? 'done' : 'not done'}) within 30 s`);
        break;
      }
      done++;
    }
    await bd.daemon.reconciler.settled();
    calls = countCalls(emu.requests());
  } catch (err) {
    res.notes.push(`lifecycle bench failed: ${errText(err)}`);
  } finally {
    await bd.stop('drain').catch((err) => res.notes.push(`daemon stop: ${errText(err)}`));
    await emu.close();
  }
  res.figures.push({
    key: 'github.calls_per_ephemeral_lifecycle',
    label: 'rate-limited GitHub calls per ephemeral runner lifecycle',
    value: calls && done > 0 ? round(calls.limited / done, 2) : null,
    unit: 'calls',
    target: opts.target,
    note: `${calls?.limited ?? '?'} rate-limited calls over ${done} webhook→job→exit cycles (${calls?.notModified ?? 0} free 304s)`,
  });
  res.detail = { cycles: done, byRoute: calls?.byRoute ?? {}, notModified: calls?.notModified ?? 0 };
  res.seconds = (Date.now() - t0) / 1000;
  return res;
}
