/**
 * One operation per runner name at a time: create / destroy / exit bookkeeping stay idempotent
 * under races. Operations on different names run in parallel; a failed one does not block the next.
 */
export function perRunnerLock(): <T>(name: string, fn: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<unknown>>();
  return <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const prev = tails.get(name) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    tails.set(name, tail);
    void tail.then(() => tails.get(name) === tail && tails.delete(name));
    return next;
  };
}
