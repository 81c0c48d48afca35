import type { FleetConfig } from '../config/types.js';
import { splitEndpoint, tcpProbe } from '../doctor/network.js';

export interface NetworkCheckResult {
  target: string;
  ok: boolean;
  detail: string;
}

/**
 * `network.checks` probed from the host on a timer, so `/api/v1/status` answers "can jobs reach
 * argocd?" without a probe per request. Same TCP probe and extraHosts mapping as `doctor`.
 */
export class NetworkChecks {
  private last: NetworkCheckResult[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly config: () => FleetConfig,
    private readonly timeoutMs = 3000,
  ) {}

  results(): NetworkCheckResult[] {
    return this.last;
  }

  start(everyMs = 60_000): void {
    const tick = () => {
      void this.refresh().finally(() => {
        this.timer = setTimeout(tick, everyMs);
        this.timer.unref?.();
      });
    };
    tick();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  async refresh(): Promise<NetworkCheckResult[]> {
    const cfg = this.config();
    const targets = [...new Set([...cfg.network.checks, ...cfg.pools.flatMap((p) => p.network.checks)])];
    this.last = await Promise.all(targets.map((t) => this.probe(t, cfg.network.extraHosts)));
    return this.last;
  }

  private async probe(target: string, extraHosts: Record<string, string>): Promise<NetworkCheckResult> {
    const hp = splitEndpoint(target);
    if (!hp) return { target, ok: false, detail: 'not host:port' };
    const mapped = extraHosts[hp.host];
    const err = await tcpProbe(mapped ?? hp.host, hp.port, this.timeoutMs);
    const via = mapped ? ` via extraHosts ${mapped}` : '';
    return { target, ok: err === null, detail: err === null ? `TCP connect ok from host${via}` : `${err}${via}` };
  }
}
