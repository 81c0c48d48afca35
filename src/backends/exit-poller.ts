import type { Clock } from '../clock.js';
import type { RunnerExit } from './types.js';

/**
 * watch() for engines without an event stream (systemd without a D-Bus client, child processes
 * we may have adopted): poll while anyone listens, stop when the last one unsubscribes.
 * `poll` finds exits and hands each to `emit`, which reaches every listener; a listener or poll
 * that throws is reported and never stops the loop.
 */
export class ExitPoller {
  readonly #listeners = new Set<(e: RunnerExit) => void>();
  #loop: AbortController | undefined;

  constructor(
    private readonly o: {
      poll: (emit: (e: RunnerExit) => void) => Promise<void>;
      clock: Clock;
      pollMs: number;
      onError: (err: unknown, where: 'poll' | 'listener') => void;
    },
  ) {}

  subscribe(onExit: (e: RunnerExit) => void): () => void {
    this.#listeners.add(onExit);
    if (!this.#loop) {
      this.#loop = new AbortController();
      void this.#run(this.#loop.signal);
    }
    return () => {
      this.#listeners.delete(onExit);
      if (this.#listeners.size === 0) this.stop();
    };
  }

  readonly emit = (e: RunnerExit): void => {
    for (const l of this.#listeners) {
      try {
        l(e);
      } catch (err) {
        this.o.onError(err, 'listener');
      }
    }
  };

  stop(): void {
    this.#loop?.abort();
    this.#loop = undefined;
  }

  /** Stop and forget every listener (backend close). */
  close(): void {
    this.stop();
    this.#listeners.clear();
  }

  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.o.poll(this.emit);
      } catch (err) {
        this.o.onError(err, 'poll');
      }
      try {
        await this.o.clock.sleep(this.o.pollMs, signal);
      } catch {
        return;
      }
    }
  }
}
