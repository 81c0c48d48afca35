import fs from 'node:fs';
import type { NetworkConfig } from '../config/types.js';
import { FleetError } from '../errors.js';

export interface HttpOptions {
  network: Pick<NetworkConfig, 'proxy'> & Partial<NetworkConfig>;
  /** Extra CA bundle (PEM) trusted on top of the system roots; defaults to network.caFile. */
  caFile?: string;
  /** Socket connect timeout; default 10 s. */
  connectTimeoutMs?: number;
}

export interface Http {
  /** A fetch that honours the network config; hand it to Octokit as `request.fetch`. */
  fetch: typeof fetch;
  /** Closes the connections once in-flight requests finish. */
  close(): Promise<void>;
  /** Closes the connections now (shutdown). */
  destroy(): Promise<void>;
}

/** What net/routing.ts needs: the CA already read, the timeout resolved. */
/** undici's default, and so that of Node's built-in fetch too. */
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

const builtin: Http = {
  fetch: (input, init) => globalThis.fetch(input, init),
  close: async () => undefined,
  destroy: async () => undefined,
};

/**
 * The daemon's own HTTP for GitHub API calls and downloads. With no proxy, no caFile and the
 * default timeout it is Node's built-in fetch. Otherwise the undici-based router
 * (net/routing.ts) is imported at the first request: undici would cost the daemon ~10 MB of RSS
 * for nothing where the network needs neither (issue 13, footprint). A caFile is read now, so a
 * bad one fails here, where the config is applied.
 */
export function createHttp(opts: HttpOptions): Http {
  const caFile = opts.caFile ?? opts.network.caFile;
  const ca = caFile ? readCa(caFile) : undefined;
  const proxy = opts.network.proxy;
  const connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  if (!ca && !proxy?.http && !proxy?.https && connectTimeoutMs === DEFAULT_CONNECT_TIMEOUT_MS) return builtin;
  let routed: ReturnType<typeof load> | undefined;
  const load = () => import('./routing.js').then((m) => m.createRouted({ ...(proxy ? { proxy } : {}), ...(ca ? { ca } : {}), connectTimeoutMs }));
  const get = () => (routed ??= load());
  return {
    fetch: (async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => (await get()).fetch(input, init)) as typeof fetch,
    close: async () => void (routed && (await (await routed).dispatcher.close())),
    destroy: async () => void (routed && (await (await routed).dispatcher.destroy())),
  };
}

function readCa(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new FleetError('CONFIG_INVALID', `cannot read caFile ${file}`, { cause: err });
  }
}
