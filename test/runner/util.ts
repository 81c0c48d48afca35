export { tempDir } from '../helpers/temp.js';

/** A fetch that counts the requests it sees (per URL). */
export function countingFetch(inner: typeof fetch = fetch): { fetch: typeof fetch; calls: string[] } {
  const calls: string[] = [];
  const f = ((input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    calls.push(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    return inner(input, init);
  }) as typeof fetch;
  return { fetch: f, calls };
}
