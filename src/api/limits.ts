import type { Server } from 'node:http';

/**
 * Load limits for the API server. A flood of webhook deliveries (1 MiB bodies, slow senders)
 * must not grow memory without bound: at most `webhookConcurrency` bodies are buffered at once
 * (so at most that many MiB), later ones get 503 before a byte of their body is read; the
 * server takes at most `maxConnections` sockets and drops idle or slow ones on timeouts.
 */
export interface ApiLimits {
  /** Webhook requests being read or handled at once; past it 503 + Retry-After. */
  webhookConcurrency: number;
  maxConnections: number;
  /** Time to receive a request's headers. */
  headersTimeoutMs: number;
  /** Time to receive a whole request (a slow 1 MiB upload is cut here). */
  requestTimeoutMs: number;
  /** An idle keep-alive socket is closed after this. */
  keepAliveTimeoutMs: number;
}

export const DEFAULT_LIMITS: ApiLimits = {
  webhookConcurrency: 16,
  maxConnections: 256,
  headersTimeoutMs: 15_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
};

export function applyServerLimits(s: Server, l: ApiLimits): void {
  s.maxConnections = l.maxConnections;
  s.headersTimeout = l.headersTimeoutMs;
  s.requestTimeout = l.requestTimeoutMs;
  s.keepAliveTimeout = l.keepAliveTimeoutMs;
}

/** A counting gate: enter() is false when `max` holders are inside. */
export function gate(max: number): { enter(): boolean; leave(): void; readonly active: number } {
  let active = 0;
  return {
    enter() {
      if (active >= max) return false;
      active++;
      return true;
    },
    leave() {
      active = Math.max(0, active - 1);
    },
    get active() {
      return active;
    },
  };
}

/**
 * Remembers keys for a while, bounded: true if `key` was seen within `ttlMs`. Delivery ids
 * (a redelivery) and job id + action (the same event under a new delivery id, e.g. two hooks
 * configured, or a manual redelivery) start nothing twice.
 */
export function recentKeys(now: () => number, o: { ttlMs: number; max: number }): (key: string) => boolean {
  const seen = new Map<string, number>();
  return (key) => {
    const t = now();
    const at = seen.get(key);
    if (at !== undefined && t - at <= o.ttlMs) return true;
    seen.delete(key);
    seen.set(key, t);
    // Insertion order is age order: drop the oldest past the bound or the TTL.
    for (const [k, v] of seen) {
      if (seen.size <= o.max && t - v <= o.ttlMs) break;
      seen.delete(k);
    }
    return false;
  };
}
