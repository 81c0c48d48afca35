import type { Clock } from '../../clock.js';
import { describeError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { ExitPoller } from '../exit-poller.js';
import type { ObservedRunner, RunnerExit } from '../types.js';

/**
 * Exits pushed by polling list(): systemd has no cheap event stream without a D-Bus client
 * (a native dependency), and the reconciler lists every interval anyway. Each exit (runner +
 * start time) is reported once per backend instance.
 */
export function createWatcher(o: { list: () => Promise<ObservedRunner[]>; clock: Clock; pollMs: number; logger: Logger }) {
  const seen = new Set<string>();

  async function tick(emit: (e: RunnerExit) => void): Promise<void> {
    const runners = await o.list();
    const live = new Set<string>();
    for (const r of runners) {
      const key = `${r.name}@${r.startedAt ?? 0}`;
      live.add(key);
      // exitCode undefined: the unit never ran (written, not started yet): not an exit.
      if (r.state !== 'exited' || r.exitCode === undefined || seen.has(key)) continue;
      seen.add(key);
      emit({ name: r.name, exitCode: r.exitCode, at: o.clock.now() });
    }
    // Forget runners that are gone so the set stays small.
    for (const k of seen) if (!live.has(k)) seen.delete(k);
  }

  const poller = new ExitPoller({
    poll: tick,
    clock: o.clock,
    pollMs: o.pollMs,
    onError: (err, where) => o.logger.warn({ err: describeError(err) }, where === 'poll' ? 'systemd watch poll failed' : 'exit listener failed'),
  });
  return { close: () => poller.stop(), subscribe: (onExit: (e: RunnerExit) => void) => poller.subscribe(onExit) };
}
