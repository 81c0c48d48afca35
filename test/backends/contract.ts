/**
 * The Backend contract, run against every backend (docker, systemd, process) by its own test
 * file. Real engines only; each test uses its own host name and temp dir, so suites and tests
 * run in parallel without seeing each other.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ExecutionContext, TestFn } from 'ava';
import type { Backend, ObservedRunner, RunnerExit, RunnerSpec } from '../../src/backends/types.js';
import { until } from '../helpers/poll.js';
import { tempDir } from '../helpers/temp.js';

export interface ContractOptions {
  /** Called first in every test; false means the engine is missing and the test already failed. */
  ready?: (t: ExecutionContext) => Promise<boolean>;
  /**
   * Makes a resource under the name the backend would use for `runnerName` (container, unit,
   * pid file) that this host does NOT own (unlabelled / foreign). Returns a probe and a cleanup.
   */
  foreign?: (runnerName: string, spec: RunnerSpec) => Promise<{ exists(): Promise<boolean>; remove(): Promise<void> }>;
  /** Bound on waiting for a real process/container to change state. */
  timeoutMs?: number;
  graceMs?: number;
}

export type MakeBackend = (host: string) => Backend | Promise<Backend>;
/** Adds the backend's own fields (docker image, systemd user) to a generic spec. */
export type MakeSpec = (base: RunnerSpec) => RunnerSpec | Promise<RunnerSpec>;

const suffix = () => randomBytes(4).toString('hex');

/** The daemon's own environment must never reach a runner (docs/contract.md §6). */
const LEAK_VAR = 'RF_CONTRACT_DAEMON_ONLY';
process.env[LEAK_VAR] = 'leaked';

interface Ctx {
  host: string;
  backend: Backend;
  dataDir: string;
  spec(opts?: { script?: string; pool?: string }): Promise<RunnerSpec>;
}

export function backendContract(test: TestFn, name: string, makeBackend: MakeBackend, makeSpec: MakeSpec, opts: ContractOptions = {}): void {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const graceMs = opts.graceMs ?? 3_000;

  async function setup(t: ExecutionContext): Promise<Ctx | undefined> {
    if (opts.ready && !(await opts.ready(t))) return undefined;
    const host = `ct${suffix()}`;
    const backend = await makeBackend(host);
    const dataDir = await tempDir(t, 'rf-contract-');
    const created: string[] = [];
    t.teardown(async () => {
      for (const n of created) await backend.destroy(n, { graceMs: 0 }).catch(() => undefined);
      await backend.close?.();
    });
    const spec = async (o: { script?: string; pool?: string } = {}) => {
      const pool = o.pool ?? 'cd';
      const runner = `${host}-${pool}-${suffix()}`;
      const root = path.join(dataDir, 'runners', runner);
      await mkdir(root, { recursive: true });
      created.push(runner);
      // `exec sleep` so the graceful SIGINT lands on the process that is actually running.
      const script = o.script ?? `echo "$FOO:$SECRET_X:\${${LEAK_VAR}:-clean}" > '${root}/out'; exec sleep 300`;
      return makeSpec({
        name: runner,
        pool,
        host,
        root,
        command: ['/bin/sh', '-c', script],
        env: { FOO: 'foo-value' },
        secretEnv: { SECRET_X: 'secret-value' },
        mounts: [],
        ephemeral: true,
        network: { dns: [], extraHosts: {} },
      });
    };
    return { host, backend, dataDir, spec };
  }

  const find = async (b: Backend, runner: string) => (await b.list()).filter((r) => r.name === runner);
  const running = (b: Backend, runner: string) =>
    until(async () => (await find(b, runner)).find((r) => r.state === 'running'), timeoutMs, `${runner} running`);

  test(`${name}: create → listed as running with pool and name; env and secretEnv reach the command`, async (t) => {
    const c = await setup(t);
    if (!c) return;
    const spec = await c.spec();
    const ref = await c.backend.create(spec);
    t.is(ref.name, spec.name);
    const r: ObservedRunner = await running(c.backend, spec.name);
    t.is(r.pool, 'cd');
    t.is(r.backend, c.backend.kind);
    t.truthy(r.ref);
    const out = await until(() => readFile(path.join(spec.root, 'out'), 'utf8').catch(() => undefined), timeoutMs, 'out file');
    t.is(out.trim(), 'foo-value:secret-value:clean');
  });

  test(`${name}: create is idempotent by name`, async (t) => {
    const c = await setup(t);
    if (!c) return;
    const spec = await c.spec();
    const a = await c.backend.create(spec);
    await running(c.backend, spec.name);
    const b = await c.backend.create(spec);
    t.is(b.ref, a.ref);
    t.is((await find(c.backend, spec.name)).length, 1);
  });

  test(`${name}: destroy removes it; destroying again (or something never created) is fine`, async (t) => {
    const c = await setup(t);
    if (!c) return;
    const spec = await c.spec();
    await c.backend.create(spec);
    await running(c.backend, spec.name);
    await c.backend.destroy(spec.name, { graceMs });
    t.deepEqual(await find(c.backend, spec.name), []);
    await t.notThrowsAsync(c.backend.destroy(spec.name, { graceMs }));
    await t.notThrowsAsync(c.backend.destroy(`${c.host}-cd-nosuch1`, { graceMs }));
  });

  test(`${name}: a command exiting 3 is listed as exited with 3 and pushed through watch`, async (t) => {
    const c = await setup(t);
    if (!c) return;
    const spec = await c.spec({ script: 'exit 3' });
    const exits: RunnerExit[] = [];
    const unwatch = c.backend.watch?.((e) => exits.push(e));
    t.teardown(() => unwatch?.());
    await c.backend.create(spec);
    const r = await until(async () => (await find(c.backend, spec.name)).find((x) => x.state === 'exited'), timeoutMs, `${spec.name} exited`);
    t.is(r.exitCode, 3);
    if (unwatch) {
      const e = await until(async () => exits.find((x) => x.name === spec.name), timeoutMs, 'exit event');
      t.is(e.exitCode, 3);
      t.true(e.at > 0);
    }
  });

  test(`${name}: another host's runner is neither listed nor destroyed`, async (t) => {
    const c = await setup(t);
    if (!c) return;
    const spec = await c.spec();
    const otherHost = `ct${suffix()}`;
    const other = await makeBackend(otherHost);
    const foreignSpec = { ...spec, host: otherHost };
    await other.create(foreignSpec);
    t.teardown(async () => {
      await other.destroy(spec.name, { graceMs: 0 }).catch(() => undefined);
      await other.close?.();
    });
    await running(other, spec.name);
    t.deepEqual(await find(c.backend, spec.name), []);
    await c.backend.destroy(spec.name, { graceMs }).catch(() => undefined);
    t.is((await find(other, spec.name)).length, 1, 'the other host still has it');
  });

  if (opts.foreign) {
    const foreign = opts.foreign;
    test(`${name}: an unowned resource under a runner's name is neither listed, destroyed nor replaced`, async (t) => {
      const c = await setup(t);
      if (!c) return;
      const spec = await c.spec();
      const res = await foreign(spec.name, spec);
      t.teardown(() => res.remove());
      t.deepEqual(await find(c.backend, spec.name), []);
      await c.backend.destroy(spec.name, { graceMs }).catch(() => undefined);
      t.true(await res.exists(), 'destroy left it alone');
      await c.backend.create(spec).catch(() => undefined);
      t.true(await res.exists(), 'create did not replace it');
    });
  }
}
