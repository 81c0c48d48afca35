/**
 * The one polling helper for tests: calls `fn` until it returns something truthy and returns
 * that, or throws naming `what` after `timeoutMs`. Only for waiting on real engines and
 * processes; logic driven by an injected clock never needs it.
 */
export async function until<T>(
  fn: () => T | Promise<T>,
  timeoutMs = 30_000,
  what = 'condition',
  intervalMs = 50,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
