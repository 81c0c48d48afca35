import type { Clock } from '../clock.js';
import { FleetError } from '../errors.js';

type Headers = Record<string, string | number | undefined>;

/** Retry a little after the announced reset: clocks differ and the reset is in whole seconds. */
const RESET_MARGIN_MS = 1000;
/** GitHub's advice when a secondary limit comes without retry-after. */
const SECONDARY_FALLBACK_MS = 60_000;

/**
 * Holds every request while GitHub says we are rate limited, on the injected clock. Retries of
 * the limited request pass through here too, so nothing goes out before the reset.
 */
export class RateGate {
  private blockedUntil = 0;
  constructor(
    private readonly clock: Clock,
    private readonly maxWaitMs = Infinity,
  ) {}

  remainingMs(): number {
    return Math.max(0, this.blockedUntil - this.clock.now());
  }

  /** Epoch ms until which requests are held; 0 when not limited. */
  until(): number {
    return this.remainingMs() > 0 ? this.blockedUntil : 0;
  }

  async wait(): Promise<void> {
    const ms = this.remainingMs();
    if (ms <= 0) return;
    if (ms > this.maxWaitMs) {
      throw new FleetError(
        'GITHUB_RATE_LIMITED',
        `GitHub rate limit in effect until ${new Date(this.blockedUntil).toISOString()}; not waiting that long`,
      );
    }
    await this.clock.sleep(ms);
  }

  observe(status: number, headers: Headers, message: string): void {
    if (status !== 403 && status !== 429) return;
    const now = this.clock.now();
    let until = 0;
    const reset = Number(headers['x-ratelimit-reset']);
    const retryAfter = Number(headers['retry-after']);
    if (String(headers['x-ratelimit-remaining']) === '0' && Number.isFinite(reset) && reset > 0) {
      until = reset * 1000 + RESET_MARGIN_MS;
    } else if (Number.isFinite(retryAfter) && headers['retry-after'] !== undefined) {
      until = now + retryAfter * 1000;
    } else if (status === 429 || /secondary rate/i.test(message)) {
      until = now + SECONDARY_FALLBACK_MS;
    }
    // Never retry hot, even if the reset already passed by our clock.
    if (until > 0) this.blockedUntil = Math.max(this.blockedUntil, until, now + RESET_MARGIN_MS);
  }
}
