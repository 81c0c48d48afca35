import test from 'ava';
import { statusFromStore } from '../../src/api/status.js';
import type { PoolConfig } from '../../src/config/types.js';
import { buildStatus } from '../../src/daemon/status.js';
import type { PoolRuntime } from '../../src/reconcile/pools.js';
import { COUNTED } from '../../src/reconcile/states.js';
import { openStore } from '../../src/store/index.js';
import type { RunnerRow, RunnerState } from '../../src/store/types.js';
import { config, pool } from '../doctor/util.js';
import { tempDir } from '../helpers/temp.js';

function row(name: string, pool: string, state: RunnerState, busy = false): Omit<RunnerRow, 'updatedAt'> {
  return {
    name, pool, backend: 'process', state, ephemeral: true, version: '2.330.0', githubId: null, labels: [], busy, ranJob: busy,
    jobName: null, createdAt: 1, startedAt: 2, lastExitCode: null, lastError: null, reason: null,
  };
}

const view = (r: ReturnType<typeof statusFromStore>) => r.pools.map(({ name, desired, actual, runners }) => ({ name, desired, actual, runners }));

test('status from the daemon and from the store agree on desired, actual and runners for the same rows', async (t) => {
  const dataDir = await tempDir(t);
  const scaled = pool({ name: 'big', size: undefined, scale: { minIdle: 1, max: 5, idleTimeoutMs: 60_000 } } as Partial<PoolConfig>);
  const cfg = config(dataDir, { pools: [pool({ name: 'cd', size: 2 }), scaled] });
  const store = openStore(dataDir);
  t.teardown(() => store.close());
  const states: RunnerState[] = ['pending_create', 'creating', 'idle', 'busy', 'pending_delete', 'deleting', 'failed', 'gone'];
  states.forEach((s, i) => store.runners.insert(row(`h-cd-aaaa${i}0`, 'cd', s)));
  // Busy by the hook's flag while the row still says idle: the scaling pool keeps it and adds minIdle.
  store.runners.insert(row('h-big-bbbb10', 'big', 'idle', true));
  store.runners.insert(row('h-big-bbbb20', 'big', 'busy'));

  const fromStore = statusFromStore(cfg, store, '0.0.0');
  const fromDaemon = buildStatus({
    config: cfg, store, version: '0.0.0', tools: [], networkChecks: [],
    reconciler: { pools: new Map<string, PoolRuntime>(), queuedFor: () => 0 },
    tokens: { expiries: () => [] },
    stats: { rateLimitRemaining: () => null, total: () => 0 } as never,
  });
  t.deepEqual(view(fromDaemon), view(fromStore));

  const [cd, big] = view(fromStore);
  // actual is what the planner counts towards the size; leaving runners are listed, not counted.
  t.is(cd!.actual, states.filter((s) => COUNTED.has(s)).length);
  t.is(cd!.runners.length, 6);
  t.is(cd!.desired, 2);
  t.is(big!.desired, 3, 'two busy plus minIdle 1, as the planner aims for');
  t.true(big!.runners.every((r) => r.busy));
});
