import type Dockerode from 'dockerode';
import type { Clock } from '../../clock.js';
import { describeError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { RunnerExit } from '../types.js';
import { LABEL_HOST, LABEL_RUNNER } from './spec.js';
import { exitFromCode } from './state.js';

interface DockerEvent {
  status?: string;
  Action?: string;
  id?: string;
  time?: number;
  timeNano?: number;
  Actor?: { Attributes?: Record<string, string> };
}

export interface WatchDeps {
  docker: Dockerode;
  host: string;
  logger: Logger;
  clock: Clock;
  /** Reconnect backoff bounds (ms). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

function toExit(ev: DockerEvent, clock: Clock): RunnerExit | undefined {
  const attrs = ev.Actor?.Attributes ?? {};
  const name = attrs[LABEL_RUNNER];
  if ((ev.Action ?? ev.status) !== 'die' || !name) return undefined;
  const raw = Number(attrs.exitCode);
  const at = ev.timeNano ? Math.floor(ev.timeNano / 1e6) : ev.time ? ev.time * 1000 : clock.now();
  return { name, at, ...exitFromCode(Number.isFinite(raw) ? raw : null) };
}

/** Reads newline-delimited JSON events until the stream ends or breaks. */
function consume(stream: NodeJS.ReadableStream, onEvent: (ev: DockerEvent) => void): Promise<void> {
  return new Promise((resolve) => {
    let buf = '';
    stream.on('data', (chunk: Buffer | string) => {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        try {
          onEvent(JSON.parse(line) as DockerEvent);
        } catch {
          // A torn or foreign line is not worth dying for; the reconciler re-lists anyway.
        }
      }
    });
    stream.on('end', () => resolve());
    stream.on('close', () => resolve());
    stream.on('error', () => resolve());
  });
}

/**
 * Follows container `die` events for this host's containers and reports each exit at once.
 * The stream breaks when the engine restarts; we reconnect with backoff and never replay
 * (no `since`): exits missed while disconnected are the reconciler's next list() to find.
 */
export function watchExits(deps: WatchDeps, onExit: (e: RunnerExit) => void, onOom?: (runner: string) => void): () => void {
  const ac = new AbortController();
  const minMs = deps.minBackoffMs ?? 250;
  const maxMs = deps.maxBackoffMs ?? 10_000;
  // oom: State.OOMKilled is set from the same engine event, but not always by the time the
  // container's exit is inspected; the event itself is what says a job was OOM-killed.
  const filters = { type: ['container'], event: ['die', 'oom'], label: [`${LABEL_HOST}=${deps.host}`] };

  const loop = async () => {
    let backoff = minMs;
    while (!ac.signal.aborted) {
      try {
        // abortSignal is honoured by dockerode but missing from its typings.
        const opts = { filters, abortSignal: ac.signal } as Dockerode.GetEventsOptions;
        const stream = await deps.docker.getEvents(opts);
        if (backoff > minMs) deps.logger.info('docker events stream reconnected');
        backoff = minMs;
        await consume(stream, (ev) => {
          const runner = ev.Actor?.Attributes?.[LABEL_RUNNER];
          if ((ev.Action ?? ev.status) === 'oom' && runner) onOom?.(runner);
          const exit = toExit(ev, deps.clock);
          if (exit && !ac.signal.aborted) onExit(exit);
        });
        if (ac.signal.aborted) return;
        deps.logger.warn('docker events stream ended; reconnecting');
      } catch (err) {
        if (ac.signal.aborted) return;
        deps.logger.warn({ err: describeError(err), retryMs: backoff }, 'docker events unavailable; retrying');
      }
      await deps.clock.sleep(backoff, ac.signal).catch(() => undefined);
      backoff = Math.min(backoff * 2, maxMs);
    }
  };
  void loop();
  return () => ac.abort();
}
