/**
 * Rate-limited GitHub calls per hour for an idle fleet of 20 persistent runners (one org
 * scope), measured over a real window and extrapolated to one hour:
 *   - everything the daemon sends in the window (which starts once the fleet is up and one
 *     list has seen it), with reconcile every 1 s and GitHub's runner list read every
 *     `listEveryMs` (faster than production, so the window sees several lists and the cost of
 *     one list is measured rather than assumed);
 *   - the production list cadence (120 s → 30 lists/h) times the measured cost of one list
 *     (conditional: an unchanged list answers 304, which GitHub does not count);
 *   - registration token refresh: tokens live 60 min and are renewed when < 30 min remain,
 *     checked every 10 min (tokens.refreshSchedule) → at most 2 per hour per configured scope;
 *   - runner version check (runner.updateSchedule, daily): its measured cost / 24.
 */
import { startEmulator } from '../test/emulator/index.js';
import { poolYaml } from '../test/helpers/daemon.js';
import { countCalls, errText, ownedBy, round, sleep, startBenchDaemon, waitFor, type ScenarioResult } from './lib.js';

const LIST_ROUTE = /^GET \/orgs\/\{org\}\/actions\/runners$/;
const PRODUCTION_LIST_EVERY_MS = 120_000;
const TOKEN_REFRESHES_PER_HOUR_PER_SCOPE = 2;

export async function idleFleet(opts: { runners: number; windowMs: number; listEveryMs: number; target: number }): Promise<ScenarioResult> {
  const t0 = Date.now();
  const res: ScenarioResult = { name: 'idle-fleet-calls', figures: [], notes: [], seconds: 0 };
  const emu = await startEmulator();
  const bd = await startBenchDaemon(emu, poolYaml({ name: 'idle', size: opts.runners, ephemeral: false }), { githubListIntervalMs: opts.listEveryMs }).catch(async (err) => {
    await emu.close();
    throw err;
  });
  const mine = ownedBy('idle');
  let window: ReturnType<typeof countCalls> | null = null;
  let versionCheck: ReturnType<typeof countCalls> | null = null;
  let lists = 0;
  let listsLimited = 0;
  try {
    const up = await waitFor(() => emu.runners().filter((r) => mine.test(r.name) && r.status === 'online').length === opts.runners, 90_000, 200);
    if (!up) res.notes.push(`only ${emu.runners().filter((r) => mine.test(r.name) && r.status === 'online').length}/${opts.runners} runners came online in 90 s`);
    // The first list after the fleet came up still sees changes (runners going online); the
    // window starts after it, so it measures the steady state an idle fleet lives in.
    await sleep(opts.listEveryMs + 1500);
    await bd.daemon.reconciler.settled();
    emu.resetRequests();
    await sleep(opts.windowMs);
    const reqs = emu.requests();
    window = countCalls(reqs);
    for (const r of reqs) {
      if (!LIST_ROUTE.test(`${r.method} ${r.route}`)) continue;
      lists += r.count;
      if (r.status !== 304) listsLimited += r.count;
    }
    emu.resetRequests();
    await bd.daemon.checkRunnerVersion();
    versionCheck = countCalls(emu.requests());
  } catch (err) {
    res.notes.push(`idle fleet bench failed: ${errText(err)}`);
  } finally {
    await bd.stop('drain').catch((err) => res.notes.push(`daemon stop: ${errText(err)}`));
    await emu.close();
  }
  if (!window || !versionCheck) {
    res.figures.push({ key: 'github.idle_fleet_calls_per_hour', label: `rate-limited GitHub calls per hour, ${opts.runners} idle runners`, value: null, unit: 'calls/h', target: opts.target });
    res.seconds = (Date.now() - t0) / 1000;
    return res;
  }

  const hours = opts.windowMs / 3_600_000;
  const other = window.limited - listsLimited;
  const perList = lists > 0 ? listsLimited / lists : 1; // no list seen: assume each one costs
  const listsPerHour = 3_600_000 / PRODUCTION_LIST_EVERY_MS;
  const parts = {
    otherPerHour: other / hours,
    listsPerHour: perList * listsPerHour,
    tokensPerHour: TOKEN_REFRESHES_PER_HOUR_PER_SCOPE * 1,
    versionPerHour: versionCheck.limited / 24,
  };
  const total = parts.otherPerHour + parts.listsPerHour + parts.tokensPerHour + parts.versionPerHour;
  const arithmetic =
    `${round(parts.otherPerHour, 2)} (non-list calls: ${other} in ${opts.windowMs / 1000} s × ${round(1 / hours, 0)})` +
    ` + ${round(parts.listsPerHour, 2)} (lists: ${listsPerHour}/h at the 120 s cadence × ${listsLimited}/${lists} not answered 304)` +
    ` + ${parts.tokensPerHour} (registration token refresh, 2/h × 1 scope)` +
    ` + ${round(parts.versionPerHour, 2)} (daily version check: ${versionCheck.limited} calls / 24)`;
  res.figures.push(
    {
      key: 'github.idle_fleet_calls_per_hour',
      label: `rate-limited GitHub calls per hour, ${opts.runners} idle runners`,
      value: round(total, 1),
      unit: 'calls/h',
      target: opts.target,
      note: `${round(total, 1)} = ${arithmetic}`,
    },
    {
      key: 'github.idle_fleet_window_calls',
      label: `  measured: rate-limited calls in ${opts.windowMs / 1000} s window (list every ${opts.listEveryMs / 1000} s)`,
      value: window.limited,
      unit: 'calls',
    },
    { key: 'github.idle_fleet_window_304', label: `  measured: free 304 answers in the window`, value: window.notModified, unit: 'calls' },
  );
  res.detail = { windowMs: opts.windowMs, listEveryMs: opts.listEveryMs, lists, listsLimited, window: window.byRoute, versionCheck: versionCheck.byRoute, perHour: parts };
  res.seconds = (Date.now() - t0) / 1000;
  return res;
}
