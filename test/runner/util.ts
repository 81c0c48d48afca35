import type { ExecutionContext } from 'ava';
import { openStore } from '../../src/store/index.js';
import { startEmulator } from '../emulator/index.js';
import { tempDir } from '../helpers/temp.js';

export { tempDir };

/** A fetch that counts the requests it sees (per URL). */
export function countingFetch(inner: typeof fetch = fetch): { fetch: typeof fetch; calls: string[] } {
  const calls: string[] = [];
  const f = ((input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    calls.push(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    return inner(input, init);
  }) as typeof fetch;
  return { fetch: f, calls };
}

/** An emulator serving runner 2.330.0, a self-cleaning data dir and a store in it. */
export async function cacheFixture(t: ExecutionContext) {
  const emu = await startEmulator({ runnerVersions: ['2.330.0'] });
  t.teardown(() => emu.close());
  const dataDir = await tempDir(t);
  const store = openStore(dataDir);
  t.teardown(() => store.close());
  return { emu, dataDir, store, rel: emu.runnerRelease('2.330.0') };
}
