/**
 * One cause per failed network call, read from the error's cause chain (undici and octokit wrap
 * the system error two or three levels deep; octokit even reports a DNS failure as "HTTP 500").
 * doctor and status show the cause; the fix follows from it.
 */
export type NetCause = 'dns' | 'connect' | 'timeout' | 'tls' | 'proxy' | 'http' | 'auth' | 'permission' | 'rate-limit';

export interface NetFailure {
  cause: NetCause;
  /** The system or library code (ENOTFOUND, ECONNREFUSED, CERT_HAS_EXPIRED...) or HTTP status. */
  code?: string;
  /** One line for a human, starting with the cause. */
  detail: string;
}

const DNS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NODATA', 'EAI_NONAME', 'EAI_FAIL']);
const CONNECT = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'ERR_SOCKET_CONNECTION_TIMEOUT',
]);
const TIMEOUT = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ABORT_ERR']);
const TLS = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_|HOSTNAME_MISMATCH|ERR_OSSL)/;

interface Link {
  code?: unknown;
  status?: unknown;
  name?: unknown;
  message?: unknown;
  cause?: unknown;
  response?: { status?: unknown; headers?: Record<string, unknown> };
}

function chain(err: unknown): Link[] {
  const out: Link[] = [];
  let cur: unknown = err;
  for (let i = 0; i < 8 && cur && typeof cur === 'object'; i++) {
    out.push(cur as Link);
    cur = (cur as Link).cause;
  }
  return out;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Classifies a thrown network/HTTP error; `target` (host or URL) makes the detail concrete. */
export function classifyNetError(err: unknown, target = ''): NetFailure {
  const links = chain(err);
  const at = target ? ` ${target}` : '';
  for (const l of links) {
    const code = str(l.code);
    const msg = str(l.message) ?? '';
    const proxy = /Proxy response \((\d{3})\)/.exec(msg);
    if (proxy) return { cause: 'proxy', code: proxy[1], detail: `proxy: the proxy answered ${proxy[1]}${proxy[1] === '407' ? ' (proxy authentication required)' : ''}` };
    if (code && DNS.has(code)) return { cause: 'dns', code, detail: `dns:${at || ' the name'} does not resolve (${code})` };
    if (code && TLS.test(code)) return { cause: 'tls', code, detail: `tls: ${msg || code} (${code})` };
    if (code && CONNECT.has(code)) return { cause: 'connect', code, detail: `connect:${at} ${code === 'ECONNREFUSED' ? 'connection refused' : 'no connection'} (${code})` };
    if (l.name === 'TimeoutError' || (code && TIMEOUT.has(code))) return { cause: 'timeout', code: code ?? 'TIMEOUT', detail: `timeout:${at} no answer in time` };
  }
  // Only now an HTTP status counts: octokit labels network failures "500" too.
  for (const l of links) {
    const status = typeof l.status === 'number' ? l.status : typeof l.response?.status === 'number' ? l.response.status : undefined;
    if (status === undefined || status < 100) continue;
    const msg = str(l.message) ?? '';
    if (status === 407) return { cause: 'proxy', code: '407', detail: 'proxy: the proxy answered 407 (proxy authentication required)' };
    if (status === 429 || (status === 403 && /rate limit/i.test(msg))) return { cause: 'rate-limit', code: String(status), detail: `rate-limit: HTTP ${status}` };
    if (status === 401) return { cause: 'auth', code: '401', detail: 'auth: HTTP 401, the credential was rejected (wrong or expired)' };
    if (status === 403 || status === 404) return { cause: 'permission', code: String(status), detail: `permission: HTTP ${status}${msg ? ` (${msg.split('\n')[0]!.slice(0, 120)})` : ''}` };
    return { cause: 'http', code: String(status), detail: `http: HTTP ${status}${msg ? ` (${msg.split('\n')[0]!.slice(0, 120)})` : ''}` };
  }
  const first = links[0];
  return { cause: 'connect', detail: `connect:${at} ${str(first?.message) ?? String(err)}` };
}

/** The fix for a cause, for an HTTPS endpoint the daemon itself calls (GitHub, downloads). */
export function hintFor(cause: NetCause, what: string): string {
  switch (cause) {
    case 'dns': return `${what} does not resolve on this host: check /etc/resolv.conf (resolvectl status), or set network.proxy if only a proxy can resolve it`;
    case 'connect': return `nothing accepts connections to ${what} from this host: firewall / egress rules, or set network.proxy`;
    case 'timeout': return `${what} accepted the connection but did not answer in time: a proxy or middlebox swallowing traffic? (raise --timeout to wait longer)`;
    case 'tls': return 'TLS failed: behind a TLS-intercepting proxy or with an internal CA, set network.caFile to its PEM bundle';
    case 'proxy': return 'the proxy refused the request: put credentials in network.proxy (http://user:pass@proxy:3128) or allow this host';
    case 'auth': return 'the token or App key is wrong, expired or revoked: replace it';
    case 'permission': return 'the credential is valid but may not do this: see the permission it needs';
    case 'rate-limit': return 'rate limited: wait for the reset, or use a GitHub App (higher limits)';
    case 'http': return `${what} answered with an error status: check github.apiUrl`;
  }
}
