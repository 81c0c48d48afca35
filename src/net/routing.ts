import tls from 'node:tls';
import { Agent, Dispatcher, ProxyAgent, fetch as undiciFetch } from 'undici';
import type { NetworkConfig } from '../config/types.js';
import { parseNoProxy, type NoProxyMatcher } from './no-proxy.js';

/**
 * The daemon's HTTP when the network needs undici: a proxy, an internal CA or a connect timeout
 * of our own (docs/runner-facts.md §6.9: "unknown authority" and proxies are what enterprise
 * networks hit first). Loaded by net/http.ts only then: undici is the largest library the daemon
 * would otherwise load and keep (issue 13, footprint).
 */
/** What needs undici: a proxy, a CA to trust, a connect timeout of our own. */
export interface RoutedOptions {
  proxy?: NetworkConfig['proxy'];
  ca?: string;
  connectTimeoutMs: number;
}

export function createRouted(opts: RoutedOptions): { fetch: typeof fetch; dispatcher: Dispatcher } {
  const tlsOpts = opts.ca ? { ca: [...tls.rootCertificates, opts.ca] } : {};
  const connectTimeout = opts.connectTimeoutMs;
  const direct = new Agent({ connect: { ...tlsOpts, timeout: connectTimeout } });
  const proxy = opts.proxy ?? {};
  const mk = (uri: string | undefined, tunnel: boolean) =>
    uri
      ? new ProxyAgent({
          uri,
          proxyTunnel: tunnel,
          requestTls: { ...tlsOpts, timeout: connectTimeout },
          proxyTls: { ...tlsOpts, timeout: connectTimeout },
        })
      : undefined;
  // Plain-http targets are forwarded (what squid expects); https targets tunnel through CONNECT.
  const httpProxy = mk(proxy.http, false);
  const httpsProxy = mk(proxy.https ?? proxy.http, true);
  const dispatcher = new RoutingDispatcher(direct, httpProxy, httpsProxy, parseNoProxy(proxy.noProxy));
  const boundFetch = ((input: unknown, init?: Record<string, unknown>) =>
    undiciFetch(input as Parameters<typeof undiciFetch>[0], { ...(init ?? {}), dispatcher } as Parameters<typeof undiciFetch>[1])) as unknown as typeof fetch;
  return { fetch: boundFetch, dispatcher };
}

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 };

/** Picks direct or proxied per request origin, honouring noProxy. */
export class RoutingDispatcher extends Dispatcher {
  private readonly all: Dispatcher[];
  constructor(
    private readonly direct: Dispatcher,
    private readonly httpProxy: Dispatcher | undefined,
    private readonly httpsProxy: Dispatcher | undefined,
    private readonly noProxy: NoProxyMatcher,
  ) {
    super();
    this.all = [direct, httpProxy, httpsProxy].filter((d): d is Dispatcher => d !== undefined);
  }

  /** Which dispatcher a URL goes through: exposed for doctor and tests. */
  route(origin: string | URL): 'direct' | 'proxy' {
    return this.pick(origin) === this.direct ? 'direct' : 'proxy';
  }

  private pick(origin: string | URL): Dispatcher {
    const url = typeof origin === 'string' ? new URL(origin) : origin;
    const port = Number(url.port) || DEFAULT_PORTS[url.protocol] || 0;
    const proxied = url.protocol === 'https:' ? this.httpsProxy : this.httpProxy;
    if (!proxied || this.noProxy(url.hostname, port)) return this.direct;
    return proxied;
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.pick(opts.origin ?? '').dispatch(opts, handler);
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    const p = Promise.all(this.all.map((d) => d.close())).then(() => undefined);
    if (callback) void p.then(callback);
    else return p;
  }

  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const err = typeof a === 'function' ? null : (a ?? null);
    const cb = typeof a === 'function' ? a : b;
    const p = Promise.all(this.all.map((d) => d.destroy(err))).then(() => undefined);
    if (cb) void p.then(cb);
    else return p;
  }
}
