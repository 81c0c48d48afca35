import type { Clock } from '../clock.js';
import { describeError, FleetError, isFleetError } from '../errors.js';
import { scopeKey } from '../github/scope.js';
import type { ScaleSetClient } from '../github/scaleset/client.js';
import type { QueueSession } from '../github/scaleset/session.js';
import type { QueueMessage, ScaleSet, ScaleSetStatistics } from '../github/scaleset/types.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/types.js';
import { advertisedCapacity } from './desired.js';
import type { ListenerEvents, ListenerPool, ListenerState, ListenerStatus } from './types.js';

export interface ListenerDeps {
  client: ScaleSetClient;
  store: Store;
  clock: Clock;
  logger: Logger;
  /** This host's name: the scale set is `{host}-{pool}` and the session's owner is the host. */
  host: string;
  events: ListenerEvents;
  /** The service holds a poll about this long (50 s on GitHub). */
  holdMs?: number;
  /** A poll not back after this long is stuck (a proxy holding it): recreate the session. Default 3 × hold. */
  watchdogMs?: number;
  /** Backoff after a failure: base × 2^n, capped. Defaults 1 s and 60 s. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** While another session is alive (409, ~50 s after a crash): retry this often. Default 5 s. */
  conflictRetryMs?: number;
}

/**
 * One pool's scale set and its message session: keeps the scale set as configured, long-polls
 * its queue with capacity max (never 0), records statistics and job events in the store, then
 * acknowledges. Every fault ends in a retry; the listener never gives up on its own.
 */
export class ScaleSetListener {
  private set: ScaleSet | null = null;
  private session: QueueSession | null = null;
  private state: ListenerState = 'starting';
  private lastPollAt: number | null = null;
  private error: string | null = null;
  private failures = 0;
  private messages = 0;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private readonly stop$ = new AbortController();
  readonly name: string;

  constructor(
    private pool: ListenerPool,
    private readonly deps: ListenerDeps,
  ) {
    this.name = `${deps.host}-${pool.name}`;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** A reloaded pool: labels (or group) are re-applied to the scale set before the next poll. */
  update(pool: ListenerPool): void {
    const changed = JSON.stringify(pool) !== JSON.stringify(this.pool);
    this.pool = pool;
    if (changed) this.set = null;
  }

  get scaleSetId(): number | null {
    return this.set?.id ?? this.deps.store.scaleSets.get(this.pool.name)?.scaleSetId ?? null;
  }

  status(): ListenerStatus {
    const stored = this.deps.store.scaleSets.get(this.pool.name);
    return {
      pool: this.pool.name, scaleSet: this.name, scaleSetId: this.scaleSetId, state: this.state, lastPollAt: this.lastPollAt,
      statistics: (stored?.statistics as ScaleSetStatistics | undefined) ?? null, lastMessageId: stored?.lastMessageId ?? 0,
      messages: this.messages, error: this.error,
    };
  }

  /** Stop polling; the session is deleted so a restart gets a new one at once (no 409 window). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stop$.abort();
    await this.loop?.catch(() => undefined);
    const s = this.session;
    this.session = null;
    if (s) await s.close().catch((err) => this.deps.logger.debug({ pool: this.pool.name, err: describeError(err) }, 'session delete failed'));
    this.state = 'stopped';
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (!this.set) await this.ensureScaleSet();
        if (!this.session) await this.openSession();
        await this.pollOnce();
        this.failures = 0;
        this.error = null;
      } catch (err) {
        if (this.stopped) break;
        await this.recover(err);
      }
    }
  }

  /** The scale set `{host}-{pool}` in the pool's group: reused when there, created when missing, labels kept in sync. */
  private async ensureScaleSet(): Promise<void> {
    const { client, store, logger } = this.deps;
    const groupId = await client.runnerGroupId(this.pool.runnerGroup);
    const labels = this.pool.labels.length ? this.pool.labels : [this.name];
    let set = await client.getScaleSet(groupId, this.name);
    if (!set) {
      set = await client.createScaleSet({ name: this.name, runnerGroupId: groupId, labels });
      logger.info({ pool: this.pool.name, scaleSet: this.name, id: set.id, labels }, 'scale set created');
    } else if (!sameLabels(set.labels.map((l) => l.name), labels)) {
      set = await client.updateScaleSet(set.id, { name: this.name, runnerGroupId: groupId, labels });
      logger.info({ pool: this.pool.name, scaleSet: this.name, labels }, 'scale set labels updated');
    }
    store.scaleSets.put({
      pool: this.pool.name, scopeKey: scopeKey(this.pool.scope), name: this.name, scaleSetId: set.id, runnerGroupId: groupId,
      lastMessageId: 0, statistics: { ...(set.statistics ?? {}) },
    });
    this.set = set;
  }

  private async openSession(): Promise<void> {
    const s = await this.deps.client.createSession(this.set!.id, this.deps.host);
    this.session = s;
    this.state = 'connected';
    this.deps.logger.info({ pool: this.pool.name, scaleSet: this.name, session: s.id }, 'scale-set session open');
    if (s.session.statistics) this.record(s.session.statistics);
  }

  private async pollOnce(): Promise<void> {
    const { clock, store } = this.deps;
    const s = this.session!;
    const last = store.scaleSets.get(this.pool.name)?.lastMessageId ?? 0;
    const ac = new AbortController();
    const onStop = () => ac.abort();
    this.stop$.signal.addEventListener('abort', onStop, { once: true });
    const watchdog = new AbortController();
    let stalled = false;
    void clock.sleep(this.watchdogMs(), watchdog.signal).then(
      () => {
        stalled = true;
        ac.abort();
      },
      () => undefined,
    );
    let msg: QueueMessage | null;
    try {
      msg = await s.getMessage(last, advertisedCapacity(this.pool.max), ac.signal);
    } catch (err) {
      if (stalled) throw new FleetError('SCALESET_POLL_STALLED', `no answer to a long poll in ${this.watchdogMs()} ms`, { cause: err });
      throw err;
    } finally {
      watchdog.abort();
      this.stop$.signal.removeEventListener('abort', onStop);
    }
    this.lastPollAt = clock.now();
    this.state = 'connected';
    if (msg) await this.handle(s, msg);
  }

  /** Record first, then acquire (GHES), then acknowledge, then remember the id. */
  private async handle(s: QueueSession, msg: QueueMessage): Promise<void> {
    const { store, events } = this.deps;
    store.transaction(() => {
      if (msg.statistics) store.scaleSets.update(this.pool.name, { statistics: { ...msg.statistics } });
      for (const j of msg.jobs) if (j.messageType === 'JobStarted' || j.messageType === 'JobCompleted') events.job?.(this.pool.name, j);
    });
    const available = msg.jobs.filter((j) => j.messageType === 'JobAvailable').map((j) => j.runnerRequestId);
    if (available.length) await s.acquireJobs(available);
    await s.deleteMessage(msg.messageId);
    store.scaleSets.update(this.pool.name, { lastMessageId: msg.messageId });
    this.messages++;
    events.changed(this.pool.name);
  }

  private record(stats: ScaleSetStatistics): void {
    this.deps.store.scaleSets.update(this.pool.name, { statistics: { ...stats } });
    this.deps.events.changed(this.pool.name);
  }

  private watchdogMs(): number {
    return this.deps.watchdogMs ?? 3 * (this.deps.holdMs ?? 50_000);
  }

  private async recover(err: unknown): Promise<void> {
    const { logger, clock } = this.deps;
    this.error = describeError(err);
    let waitMs: number;
    if (isFleetError(err, 'GITHUB_CONFLICT') && !this.session) {
      // Our own session from before a crash (or another host's) is still alive; it expires.
      this.state = 'conflict';
      waitMs = this.deps.conflictRetryMs ?? 5000;
    } else if (isFleetError(err, 'SCALESET_BAD_MESSAGE')) {
      waitMs = this.deps.backoffBaseMs ?? 1000;
    } else {
      this.failures++;
      this.state = 'backing-off';
      waitMs = Math.min((this.deps.backoffBaseMs ?? 1000) * 2 ** (this.failures - 1), this.deps.backoffMaxMs ?? 60_000);
      await this.dropBroken(err);
    }
    logger.warn({ pool: this.pool.name, scaleSet: this.name, state: this.state, waitMs, err: this.error }, 'scale-set listener retrying');
    await clock.sleep(waitMs, this.stop$.signal).catch(() => undefined);
  }

  /** What a failure says about the session and the scale set. */
  private async dropBroken(err: unknown): Promise<void> {
    if (isFleetError(err, 'SCALESET_POLL_STALLED') || isFleetError(err, 'SCALESET_QUEUE_EXPIRED')) {
      const s = this.session;
      this.session = null;
      await s?.close().catch(() => undefined);
    } else if (isFleetError(err, 'GITHUB_NOT_FOUND')) {
      // The scale set (or the session with it) is gone: GitHub deletes sets idle for 7 days.
      this.session = null;
      this.set = null;
    } else if (isFleetError(err, 'GITHUB_AUTH')) {
      this.deps.client.admin.invalidate();
    }
  }
}

function sameLabels(a: string[], b: string[]): boolean {
  const norm = (l: string[]) => [...new Set(l.map((x) => x.toLowerCase()))].sort().join('\n');
  return norm(a) === norm(b);
}
