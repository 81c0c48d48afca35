import type { Store } from '../store/types.js';

const KEY = 'drain.hold';

/** What `runner-fleet drain` asked for: every pool (`all`, pools added later too) or named ones. */
export interface HoldState {
  all: boolean;
  pools: string[];
}

/**
 * An operator's drain, kept in the store so it survives SIGHUP reloads and restarts until
 * `runner-fleet undrain` lifts it. A shutdown drain is not an operator's intent and is not kept.
 */
export class DrainHold {
  constructor(private readonly meta: Store['meta']) {}

  state(): HoldState {
    try {
      const v = JSON.parse(this.meta.get(KEY) ?? '') as Partial<HoldState>;
      return { all: v.all === true, pools: Array.isArray(v.pools) ? v.pools.filter((p): p is string => typeof p === 'string') : [] };
    } catch {
      return { all: false, pools: [] };
    }
  }

  has(pool: string): boolean {
    const s = this.state();
    return s.all || s.pools.includes(pool);
  }

  drain(pool: string | undefined): void {
    const s = this.state();
    this.save(pool === undefined ? { all: true, pools: [] } : { all: s.all, pools: [...new Set([...s.pools, pool])] });
  }

  /** Lifts the hold on one pool (of `configured`), or on all. */
  undrain(pool: string | undefined, configured: string[]): void {
    const s = this.state();
    if (pool === undefined) return this.save({ all: false, pools: [] });
    const held = s.all ? configured : s.pools;
    this.save({ all: false, pools: held.filter((p) => p !== pool) });
  }

  private save(s: HoldState): void {
    this.meta.set(KEY, JSON.stringify({ all: s.all, pools: [...s.pools].sort() }));
  }
}

/** The same facts read from a store without a daemon (status from the database). */
export function readHold(meta: Pick<Store['meta'], 'get'>): HoldState {
  return new DrainHold(meta as Store['meta']).state();
}
