import test from 'ava';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { FleetConfig } from '../../src/config/types.js';
import { createLaunchKit } from '../../src/daemon/launch.js';
import { silentLogger } from '../../src/log.js';
import { HookFiles } from '../../src/reconcile/hook-files.js';
import { hookPaths } from '../../src/runner/hooks.js';
import { runnerRoot } from '../../src/runner/prepare.js';
import { RootFileCache } from '../../src/runner/root-file-cache.js';
import { openStore } from '../../src/store/index.js';
import type { RunnerRow } from '../../src/store/types.js';
import { tempDir } from '../helpers/temp.js';

test('each pass reads the hook files of the live runners; what it keeps about runners that are gone is dropped', async (t) => {
  const dataDir = await tempDir(t, 'rf-hookfiles-');
  const store = openStore(dataDir);
  t.teardown(() => store.close());
  // Settled at once: only the files' lstat decides a re-read.
  const hookCache = new RootFileCache({ now: () => Date.now() + 3_600_000 });
  const config = () => ({ host: { dataDir } }) as FleetConfig;
  const kit = createLaunchKit({ config, tools: () => [], logger: silentLogger(), hookCache });
  const hooks = new HookFiles({ kit, jobs: { claim: () => undefined }, store, logger: silentLogger() });
  const names = ['h1-cd-aaaa0001', 'h1-cd-bbbb0002', 'h1-cd-cccc0003'];
  for (const [i, name] of names.entries()) {
    const file = hookPaths(runnerRoot(dataDir, name)).jobFile;
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, JSON.stringify({ state: i === 0 ? 'busy' : 'idle', at: 1, job: 'j', runId: 7 }));
  }
  const rows = (n: string[]) => n.map((name) => ({ name, pool: 'cd' }) as RunnerRow);
  const first = await hooks.read(rows(names));
  // Reads finish in any order: compare by name.
  t.deepEqual([...first.hooks].map(([n, h]) => [n, h.state]).sort(), [[names[0], 'busy'], [names[1], 'idle'], [names[2], 'idle']]);
  t.is(hookCache.size, 3);
  await hooks.read(rows(names));
  t.deepEqual(hookCache.counts, { hits: 3, reads: 3 }, 'unchanged files are not read again');
  const later = await hooks.read(rows([names[1]!]));
  t.deepEqual([...later.hooks.keys()], [names[1]]);
  t.is(hookCache.size, 1, 'the two runners that are gone are forgotten');
});
