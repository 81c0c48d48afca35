/** How long a stop waits for in-flight network work before leaving it behind. */
export const SHUTDOWN_WAIT_MS = 3000;

/** Waits for `p` at most `ms`; past that, calls `onTimeout` and returns (p keeps running). */
export async function within(p: Promise<unknown>, ms: number, onTimeout: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), ms)));
  const res = await Promise.race([p.then(() => 'done' as const), late]);
  clearTimeout(timer);
  if (res === 'late') onTimeout();
}
