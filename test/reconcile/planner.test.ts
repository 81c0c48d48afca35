import test from 'ava';
import { plan, planPass } from '../../src/reconcile/planner.js';
import type { Observation, PoolView } from '../../src/reconcile/types.js';
import type { RunnerRow } from '../../src/store/types.js';
import type { ObservedRunner } from '../../src/backends/types.js';
import type { GitHubRunner } from '../../src/github/types.js';

const NOW = 1_000_000;

function pool(p: Partial<PoolView> = {}): PoolView {
  return <PoolView>{
    name: 'cd',
    backend: 'process',
    ephemeral: true,
    size: 2,
    targetVersion: '2.330.0',
    canCreate: true,
    draining: false,
    queuedJobs: 0,
    namePattern: /^h1-cd-[a-z0-9]{6,}$/,
    ...p,
  };
}

function row(name: string, r: Partial<RunnerRow> = {}): RunnerRow {
  return {
    name, pool: 'cd', backend: 'process', state: 'idle', ephemeral: true, version: '2.330.0',
    githubId: 1, labels: [], busy: false, ranJob: false, jobName: null, createdAt: 0, startedAt: 0,
    updatedAt: 0, lastExitCode: null, lastError: null, reason: null,
    ...r,
  };
}

function running(name: string, o: Partial<ObservedRunner> = {}): ObservedRunner {
  return { name, pool: 'cd', backend: 'process', state: 'running', ref: name, ...o };
}

function obs(o: Partial<Observation>): Observation {
  return { now: NOW, host: 'h1', pools: [pool()], rows: [], observed: [], unavailable: [], github: null, hooks: new Map(), ...o };
}

const kinds = (o: Observation, inflight?: Set<string>) => plan(o, inflight).map((a) => a.kind + ('name' in a ? `:${a.name}` : ''));

test('empty pool of 2 → two creates', (t) => {
  t.deepEqual(kinds(obs({})), ['create', 'create']);
});

test('pool at size with both running → nothing', (t) => {
  t.deepEqual(kinds(obs({ rows: [row('h1-cd-aaaaaa'), row('h1-cd-bbbbbb')], observed: [running('h1-cd-aaaaaa'), running('h1-cd-bbbbbb')] })), []);
});

test('exited runner is reaped with its exit code and replaced', (t) => {
  const a = plan(obs({ rows: [row('h1-cd-aaaaaa'), row('h1-cd-bbbbbb')], observed: [running('h1-cd-aaaaaa'), running('h1-cd-bbbbbb', { state: 'exited', exitCode: 2 })] }));
  t.deepEqual(a[0], { kind: 'reap', name: 'h1-cd-bbbbbb', pool: 'cd', exitCode: 2, reason: 'exited' });
  t.is(a.filter((x) => x.kind === 'create').length, 1);
});

test('host capacity short: no create, no version roll; running runners stay and exits are still reaped', (t) => {
  const hostCapacity = 'free disk 1 GiB on /data is below host.capacity.minFreeDisk 5 GiB';
  const rows = [row('h1-cd-aaaaaa', { version: '2.329.0' }), row('h1-cd-bbbbbb')];
  const observed = [running('h1-cd-aaaaaa'), running('h1-cd-bbbbbb', { state: 'exited', exitCode: null, signal: 'SIGKILL', oomKilled: true })];
  const a = plan(obs({ pools: [pool({ hostCapacity, targetVersion: '2.330.0' })], rows, observed }));
  t.deepEqual(a, [{ kind: 'reap', name: 'h1-cd-bbbbbb', pool: 'cd', exitCode: null, reason: 'exited', signal: 'SIGKILL', oomKilled: true }]);
  // Met again: the same picture creates the missing runner.
  t.deepEqual(kinds(obs({ pools: [pool({ targetVersion: '2.330.0' })], rows, observed })), ['reap:h1-cd-bbbbbb', 'create']);
});

test('pool in backoff creates nothing', (t) => {
  t.deepEqual(kinds(obs({ pools: [pool({ canCreate: false })] })), []);
});

test('surplus: only idle runners are retired, never busy ones (hook, row or GitHub)', (t) => {
  const rows = [row('h1-cd-aaaaaa', { state: 'busy' }), row('h1-cd-bbbbbb'), row('h1-cd-cccccc'), row('h1-cd-dddddd')];
  const observed = rows.map((r) => running(r.name));
  const hooks = new Map([['h1-cd-bbbbbb', { state: 'busy' as const, at: NOW }]]);
  const gh: GitHubRunner[] = [{ id: 3, name: 'h1-cd-cccccc', os: 'linux', status: 'online', busy: true, labels: [] }];
  const o = obs({ pools: [pool({ size: 0 })], rows, observed, hooks, github: new Map([['cd', gh]]) });
  const acts = plan(o);
  t.deepEqual(acts.filter((a) => a.kind === 'retire').map((a) => 'name' in a && a.name), ['h1-cd-dddddd']);
  t.true(acts.some((a) => a.kind === 'mark' && a.name === 'h1-cd-bbbbbb' && a.state === 'busy'));
});

test('scale: queued jobs start runners at once up to max', (t) => {
  const o = obs({ pools: [pool({ size: undefined, scale: { minIdle: 0, max: 3, idleTimeoutMs: 60_000 }, queuedJobs: 5 })] });
  t.deepEqual(kinds(o), ['create', 'create', 'create']);
});

test('scale: a runner GitHub shows busy before its job hook ran took a queued job: no second runner for it', (t) => {
  const scale = pool({ size: undefined, scale: { minIdle: 0, max: 5, idleTimeoutMs: 60_000 }, queuedJobs: 1 });
  const gh = (busy: boolean): Map<string, GitHubRunner[]> =>
    new Map([['cd', [{ id: 1, name: 'h1-cd-aaaaaa', os: 'linux', status: 'online', busy, labels: [] }]]]);
  const base = { pools: [scale], rows: [row('h1-cd-aaaaaa')], observed: [running('h1-cd-aaaaaa')] };
  t.deepEqual(kinds(obs({ ...base, github: gh(true) })), []);
  // Idle on GitHub: it is the runner the queued job will take.
  t.deepEqual(kinds(obs({ ...base, github: gh(false) })), []);
  // A runner whose hook already ran is accounted for by the job queue's claims, not here.
  const hooks = new Map([['h1-cd-aaaaaa', { state: 'idle' as const, at: 0 }]]);
  t.deepEqual(kinds(obs({ ...base, github: gh(true), hooks })), ['create']);
});

test('scale set: desired = min(minIdle + assigned jobs, max); queued webhook jobs do not count; draining wants none', (t) => {
  const ss = (minIdle: number, assignedJobs: number, extra: Record<string, unknown> = {}) =>
    pool({ size: undefined, scale: { minIdle, max: 4, idleTimeoutMs: 60_000, via: 'scaleset' }, assignedJobs, ...extra });
  t.deepEqual(kinds(obs({ pools: [ss(0, 0, { queuedJobs: 3 })] })), []);
  t.deepEqual(kinds(obs({ pools: [ss(1, 2)] })), ['create', 'create', 'create']);
  t.deepEqual(kinds(obs({ pools: [ss(0, 9)] })), ['create', 'create', 'create', 'create']);
  // Busy runners are among the assigned jobs, not on top of them.
  const rows = [row('h1-cd-aaaaaa', { state: 'busy' })];
  t.deepEqual(kinds(obs({ pools: [ss(0, 1)], rows, observed: [running('h1-cd-aaaaaa')] })), []);
  t.deepEqual(kinds(obs({ pools: [ss(1, 5, { draining: true, canCreate: false })] })), []);
});

test('scale set: surplus idle runners retire after the idle timeout; busy ones never', (t) => {
  const scale = { minIdle: 0, max: 5, idleTimeoutMs: 60_000, via: 'scaleset' as const };
  const rows = [row('h1-cd-aaaaaa', { state: 'busy' }), row('h1-cd-bbbbbb', { startedAt: NOW - 120_000 }), row('h1-cd-cccccc', { startedAt: NOW - 10_000 })];
  const o = obs({ pools: [pool({ size: undefined, scale, assignedJobs: 1 })], rows, observed: rows.map((r) => running(r.name)) });
  t.deepEqual(kinds(o), ['retire:h1-cd-bbbbbb']);
});

test('scale: minIdle kept beside busy runners', (t) => {
  const rows = [row('h1-cd-aaaaaa', { state: 'busy' })];
  const o = obs({ pools: [pool({ size: undefined, scale: { minIdle: 1, max: 5, idleTimeoutMs: 60_000 } })], rows, observed: [running('h1-cd-aaaaaa')] });
  t.deepEqual(kinds(o), ['create']);
});

test('scale: surplus idle runners retire only after the idle timeout', (t) => {
  const scale = { minIdle: 0, max: 5, idleTimeoutMs: 60_000 };
  const rows = [row('h1-cd-aaaaaa', { startedAt: NOW - 10_000 }), row('h1-cd-bbbbbb', { startedAt: NOW - 120_000 })];
  const o = obs({ pools: [pool({ size: undefined, scale })], rows, observed: rows.map((r) => running(r.name)) });
  t.deepEqual(kinds(o), ['retire:h1-cd-bbbbbb']);
});

test('version roll: one idle old runner at a time, busy ones untouched', (t) => {
  const rows = [
    row('h1-cd-aaaaaa', { version: '2.329.0', state: 'busy' }),
    row('h1-cd-bbbbbb', { version: '2.329.0' }),
    row('h1-cd-cccccc', { version: '2.329.0' }),
  ];
  const o = obs({ pools: [pool({ size: 3 })], rows, observed: rows.map((r) => running(r.name)) });
  t.deepEqual(kinds(o), ['retire:h1-cd-bbbbbb']);
  // While a retire is in flight, nothing else rolls.
  t.deepEqual(kinds(o, new Set(['h1-cd-bbbbbb'])), []);
});

test('draining: no creates, idle retired, busy kept', (t) => {
  const rows = [row('h1-cd-aaaaaa', { state: 'busy' }), row('h1-cd-bbbbbb')];
  const o = obs({ pools: [pool({ draining: true })], rows, observed: rows.map((r) => running(r.name)) });
  t.deepEqual(kinds(o), ['retire:h1-cd-bbbbbb']);
});

test('recovery: creating row with a running resource → idle; without → reaped', (t) => {
  const rows = [row('h1-cd-aaaaaa', { state: 'creating' }), row('h1-cd-bbbbbb', { state: 'pending_create' })];
  const acts = plan(obs({ rows, observed: [running('h1-cd-aaaaaa')] }));
  t.true(acts.some((a) => a.kind === 'mark' && a.name === 'h1-cd-aaaaaa'));
  t.true(acts.some((a) => a.kind === 'reap' && a.name === 'h1-cd-bbbbbb' && a.reason === 'interrupted-create'));
});

test('recovery: deleting row continues its delete', (t) => {
  const acts = plan(obs({ pools: [pool({ size: 0 })], rows: [row('h1-cd-aaaaaa', { state: 'deleting', reason: 'drain' })] }));
  t.deepEqual(acts, [{ kind: 'retire', name: 'h1-cd-aaaaaa', pool: 'cd', reason: 'drain' }]);
});

test('a runner being reaped (deleting, in flight) does not count: its replacement starts, the healthy idle one stays', (t) => {
  // Pass N planned reap(a) + create(c); pass N+1 sees both still in flight.
  const rows = [row('h1-cd-aaaaaa', { state: 'deleting', reason: 'registration-gone' }), row('h1-cd-bbbbbb'), row('h1-cd-cccccc', { state: 'creating' })];
  const observed = [running('h1-cd-bbbbbb'), running('h1-cd-aaaaaa', { state: 'exited', exitCode: 0 })];
  t.deepEqual(kinds(obs({ rows, observed }), new Set(['h1-cd-aaaaaa', 'h1-cd-cccccc'])), []);
});

test('inflight runners are left alone', (t) => {
  const rows = [row('h1-cd-aaaaaa', { state: 'creating' }), row('h1-cd-bbbbbb', { state: 'pending_create' })];
  t.deepEqual(kinds(obs({ rows }), new Set(['h1-cd-aaaaaa', 'h1-cd-bbbbbb'])), []);
});

test('unknown running resource of a configured pool is adopted; of a removed pool, orphaned', (t) => {
  const acts = plan(obs({ pools: [pool({ size: 1 })], observed: [running('h1-cd-aaaaaa'), running('h1-old-bbbbbb', { pool: 'old' })] }));
  t.true(acts.some((a) => a.kind === 'adopt' && a.name === 'h1-cd-aaaaaa'));
  t.true(acts.some((a) => a.kind === 'orphan' && a.name === 'h1-old-bbbbbb'));
});

test('adopted runners count towards the pool size: no duplicate creates', (t) => {
  const acts = plan(obs({ pools: [pool({ size: 2 })], observed: [running('h1-cd-aaaaaa'), running('h1-cd-bbbbbb')] }));
  t.deepEqual(acts.map((a) => a.kind), ['adopt', 'adopt']);
});

test('resources not named like ours are neither adopted nor removed, whatever their labels', (t) => {
  const observed = [running('someone-else'), running('h1-cd-big-aaaaaaaa'), running('h2-old-bbbbbb', { pool: 'old' })];
  t.deepEqual(plan(obs({ pools: [pool({ size: 0 })], observed })), []);
});

test('ghosts: only offline, idle, unknown registrations matching the whole pattern', (t) => {
  const gh: GitHubRunner[] = [
    { id: 1, name: 'h1-cd-aaaaaa', os: 'linux', status: 'offline', busy: false, labels: [] },
    { id: 2, name: 'h1-cd-big-bbbbbb', os: 'linux', status: 'offline', busy: false, labels: [] },
    { id: 3, name: 'h1-cd-cccccc', os: 'linux', status: 'online', busy: false, labels: [] },
    { id: 4, name: 'someone-else', os: 'linux', status: 'offline', busy: false, labels: [] },
    { id: 5, name: 'h1-cd-dddddd', os: 'linux', status: 'offline', busy: false, labels: [] },
  ];
  const rows = [row('h1-cd-dddddd', { state: 'creating' })];
  const acts = plan(obs({ pools: [pool({ size: 1 })], rows, github: new Map([['cd', gh]]) }), new Set(['h1-cd-dddddd']));
  t.deepEqual(acts.filter((a) => a.kind === 'ghost').map((a) => 'name' in a && a.name), ['h1-cd-aaaaaa']);
});

test('ghosts: one carrying another host\'s id is never ours; our id or none (pre-host-id) is', (t) => {
  const off = (id: number, name: string, labels: string[]): GitHubRunner => ({ id, name, os: 'linux', status: 'offline', busy: false, labels });
  const gh = [
    off(1, 'h1-cd-aaaaaa', ['self-hosted', 'rf-host-0123abcd']),
    off(2, 'h1-cd-bbbbbb', ['self-hosted', 'rf-host-ffff0000']),
    off(3, 'h1-cd-cccccc', ['self-hosted']),
  ];
  const acts = plan(obs({ pools: [pool({ size: 0 })], github: new Map([['cd', gh]]), hostLabel: 'rf-host-0123abcd' }));
  t.deepEqual(acts.filter((a) => a.kind === 'ghost').map((a) => 'name' in a && a.name), ['h1-cd-aaaaaa', 'h1-cd-cccccc']);
});

test('backend unavailable: its rows are not reaped and its pool starts nothing', (t) => {
  const rows = [row('h1-cd-aaaaaa', { backend: 'docker' })];
  t.deepEqual(kinds(obs({ pools: [pool({ size: 1, backend: 'docker' })], rows, unavailable: ['docker'] })), []);
  t.deepEqual(kinds(obs({ pools: [pool({ size: 2, backend: 'docker' })], unavailable: ['docker'] })), []);
});

test('pool removed from config: idle runner retired, busy kept', (t) => {
  const rows = [row('h1-gone-aaaaaa', { pool: 'gone' }), row('h1-gone-bbbbbb', { pool: 'gone', state: 'busy' })];
  const observed = rows.map((r) => running(r.name, { pool: 'gone' }));
  t.deepEqual(kinds(obs({ pools: [], rows, observed })), ['retire:h1-gone-aaaaaa']);
});

import { backoffMs, classifyExit } from '../../src/reconcile/exits.js';

test('exit codes: ephemeral 0 after a job needs no GitHub call; 1/2/5 are failures; 7 rolls the version', (t) => {
  t.like(classifyExit(0, true, true), { failure: false, lookup: false });
  t.like(classifyExit(0, true, false), { failure: false, lookup: true });
  for (const c of [1, 2, 5, null]) t.like(classifyExit(c, true, false), { failure: true, lookup: true });
  t.like(classifyExit(7, false, false), { versionDeprecated: true, failure: false });
});

test('backoff is exponential and capped', (t) => {
  t.deepEqual([0, 1, 2, 3, 20].map((n) => backoffMs(n)), [0, 5_000, 10_000, 20_000, 300_000]);
});

test('a tainted runner (a job vandalised its files) is retired even when its row says busy, unless GitHub shows it busy; never while inflight', (t) => {
  const rows = [row('h1-cd-aaaaaa', { state: 'busy', busy: true }), row('h1-cd-bbbbbb'), row('h1-cd-cccccc', { state: 'busy' })];
  const observed = rows.map((r) => running(r.name));
  const gh: GitHubRunner[] = [{ id: 3, name: 'h1-cd-cccccc', os: 'linux', status: 'online', busy: true, labels: [] }];
  const tainted = new Set(['h1-cd-aaaaaa', 'h1-cd-cccccc']);
  const o = obs({ pools: [pool({ size: 3 })], rows, observed, tainted, github: new Map([['cd', gh]]) });
  t.deepEqual(plan(o).filter((a) => a.kind === 'retire'), [{ kind: 'retire', name: 'h1-cd-aaaaaa', pool: 'cd', reason: 'runner-file-refused' }]);
  t.deepEqual(plan(o, new Set(['h1-cd-aaaaaa'])).filter((a) => a.kind === 'retire'), []);
  // The hook the job left says idle: irrelevant, the runner is not reused.
  const hooks = new Map([['h1-cd-aaaaaa', { state: 'idle' as const, at: NOW }]]);
  t.true(plan({ ...o, hooks }).some((a) => a.kind === 'retire' && a.name === 'h1-cd-aaaaaa'));
});

/** host.capacity.cpus: what each case starts, and which pools report being held back. */
const cpuCases: Array<{ title: string; o: Partial<Observation>; creates: Record<string, number>; held: string[]; other?: string[] }> = [
  { title: 'no budget: the pool fills up', o: { pools: [pool({ size: 3, cpus: 2 })] }, creates: { cd: 3 }, held: [] },
  { title: 'budget 2, 1 CPU each: two of three start', o: { pools: [pool({ size: 3, cpus: 1 })], cpu: { budget: 2 } }, creates: { cd: 2 }, held: ['cd'] },
  { title: 'fractions add up exactly (3 × 0.1 in 0.3)', o: { pools: [pool({ size: 3, cpus: 0.1 })], cpu: { budget: 0.3 } }, creates: { cd: 3 }, held: [] },
  { title: 'a pool without a CPU limit is not counted', o: { pools: [pool({ size: 3 })], cpu: { budget: 1 } }, creates: { cd: 3 }, held: [] },
  {
    title: 'pools share the budget in config order',
    o: { pools: [pool({ name: 'a', size: 1, cpus: 1.5, namePattern: /^h1-a-/ }), pool({ name: 'b', size: 2, cpus: 1, namePattern: /^h1-b-/ })], cpu: { budget: 3 } },
    creates: { a: 1, b: 1 }, held: ['b'],
  },
  {
    title: 'runners that exist count, idle, busy and leaving; none is touched',
    o: {
      pools: [pool({ size: 4, cpus: 1 })], cpu: { budget: 3 },
      rows: [row('h1-cd-aaaaaa'), row('h1-cd-bbbbbb', { state: 'busy' }), row('h1-cd-cccccc', { state: 'pending_delete' })],
      observed: [running('h1-cd-aaaaaa'), running('h1-cd-bbbbbb'), running('h1-cd-cccccc')],
    },
    creates: {}, held: ['cd'], other: ['retire:h1-cd-cccccc'],
  },
  {
    title: 'a runner that exited frees its CPUs for its replacement in the same pass',
    o: {
      pools: [pool({ size: 2, cpus: 1 })], cpu: { budget: 2 },
      rows: [row('h1-cd-aaaaaa'), row('h1-cd-bbbbbb')],
      observed: [running('h1-cd-aaaaaa'), running('h1-cd-bbbbbb', { state: 'exited', exitCode: 137, oomKilled: true })],
    },
    creates: { cd: 1 }, held: [], other: ['reap:h1-cd-bbbbbb'],
  },
  {
    title: "a removed pool's runners still count at their last known CPUs",
    o: {
      pools: [pool({ size: 2, cpus: 1 })], cpu: { budget: 2, gonePools: new Map([['old', 1]]) },
      rows: [row('h1-old-aaaaaa', { pool: 'old', state: 'busy' })], observed: [running('h1-old-aaaaaa', { pool: 'old' })],
    },
    creates: { cd: 1 }, held: ['cd'],
  },
  {
    title: 'a runner being adopted counts',
    o: { pools: [pool({ size: 2, cpus: 1 })], cpu: { budget: 1 }, observed: [running('h1-cd-aaaaaa')] },
    creates: {}, held: ['cd'], other: ['adopt:h1-cd-aaaaaa'],
  },
  {
    title: 'a floor already holds the pool: the floor reports it, the budget does not',
    o: { pools: [pool({ size: 2, cpus: 1, hostCapacity: 'free disk low' })], cpu: { budget: 1 } },
    creates: {}, held: [],
  },
];

for (const c of cpuCases) {
  test(`CPU budget: ${c.title}`, (t) => {
    const { actions, cpuHeld } = planPass(obs(c.o));
    const creates: Record<string, number> = {};
    for (const a of actions) if (a.kind === 'create') creates[a.pool] = (creates[a.pool] ?? 0) + 1;
    t.deepEqual(creates, c.creates);
    t.deepEqual([...cpuHeld.keys()], c.held);
    for (const why of cpuHeld.values()) t.regex(why, /host\.capacity\.cpus/);
    t.deepEqual(actions.filter((a) => a.kind !== 'create').map((a) => a.kind + ('name' in a ? `:${a.name}` : '')), c.other ?? []);
  });
}

test('CPU budget: the held figure says what is allocated, the budget and what one runner needs', (t) => {
  const { cpuHeld } = planPass(obs({ pools: [pool({ size: 3, cpus: 1.5 })], cpu: { budget: 4 }, rows: [row('h1-cd-aaaaaa')], observed: [running('h1-cd-aaaaaa')] }));
  const why = cpuHeld.get('cd') ?? '';
  t.regex(why, /\b3 of host\.capacity\.cpus 4\b/);
  t.regex(why, /\b1 more .* 1\.5 each/);
});
