import type { Clock } from '../../clock.js';
import { describeError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { ObservedRunner, RunnerExit } from '../types.js';

/**
 * Exits pushed by polling list(): systemd has no cheap event stream without a D-Bus client
 * (a native dependency), and the reconciler lists every interval anyway. Each exit (runner +
 * start time) is reported once per backend instance.
 */
export function createWatcher(o: { list: () => Promise<ObservedRunner[]>; clock: Clock; pollMs: number; logger: Logger }) {
  const listeners = new Set<(e: RunnerExit) => void>();
  const seen = new Set<string>();
  let loop: AbortController | undefined;

  async function tick(): Promise<void> {
    const runners = await o.list();
    const live = new Set<string>();
    for (const r of runners) {
      const key = `${r.name}@${r.startedAt ?? 0}`;
      live.add(key);
      // exitCode undefined: the unit never ran (written, not started yet): not an exit.
      if (r.state !== 'exited' || r.exitCode === undefined || seen.has(key)) continue;
      seen.add(key);
      const e: RunnerExit = { name: r.name, exitCode: r.exitCode, at: o.clock.now() };
      for (const l of listeners) l(e);
    }
    // Forget runners that are gone so the set stays small.
    for (const k of seen) if (!live.has(k)) seen.delete(k);
  }

  async function run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await tick();
      } catch (err) {
        o.logger.warn({ err: describeError(err) }, 'systemd watch poll failed');
      }
      await o.clock.sleep(o.pollMs, signal).catch(() => undefined);
    }
  }

  function close(): void {
    loop?.abort();
    loop = undefined;
  }

  return {
    close,
    subscribe(onExit: (e: RunnerExit) => void): () => void {
      listeners.add(onExit);
      if (!loop) {
        loop = new AbortController();
        void run(loop.signal);
      }
      return () => {
        listeners.delete(onExit);
        if (listeners.size === 0) close();
      };
    },
  };
}
