import net from 'node:net';

/**
 * NO_PROXY matching as platform teams write it: `.internal` (suffix), `internal.example.com`
 * (exact host or any subdomain), `10.0.0.0/8` (CIDR), `10.1.2.3` (exact IP), `host:port`, `*`.
 * undici's own parser knows no CIDRs, hence this.
 */
export type NoProxyMatcher = (hostname: string, port: number) => boolean;

interface Entry {
  host?: string;
  cidr?: { base: bigint; bits: number; family: 4 | 6 };
  port?: number;
}

export function parseNoProxy(value: string | undefined): NoProxyMatcher {
  const raw = (value ?? '').split(/[,\s]+/).map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (raw.includes('*')) return () => true;
  const entries = raw.map(parseEntry).filter((e): e is Entry => e !== null);
  return (hostname, port) => {
    const host = stripBrackets(hostname.toLowerCase());
    return entries.some((e) => matches(e, host, port));
  };
}

function parseEntry(s: string): Entry | null {
  if (s.includes('/')) {
    const [addr, bitsStr] = s.split('/');
    const family = net.isIP(addr ?? '');
    const bits = Number(bitsStr);
    if (!addr || family === 0 || !Number.isInteger(bits)) return null;
    const max = family === 4 ? 32 : 128;
    if (bits < 0 || bits > max) return null;
    return { cidr: { base: ipToBigInt(addr), bits, family: family as 4 | 6 } };
  }
  let host = s;
  let port: number | undefined;
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(s);
  if (m && m[1] && m[2]) {
    host = m[1];
    port = Number(m[2]);
  }
  host = stripBrackets(host).replace(/^\*\./, '.');
  return port === undefined ? { host } : { host, port };
}

function matches(e: Entry, host: string, port: number): boolean {
  if (e.port !== undefined && e.port !== port) return false;
  if (e.cidr) {
    const family = net.isIP(host);
    if (family !== e.cidr.family) return false;
    const width = family === 4 ? 32 : 128;
    const shift = BigInt(width - e.cidr.bits);
    return ipToBigInt(host) >> shift === e.cidr.base >> shift;
  }
  const h = e.host ?? '';
  if (h.startsWith('.')) return host.endsWith(h) || host === h.slice(1);
  return host === h || host.endsWith(`.${h}`);
}

function stripBrackets(h: string): string {
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

function ipToBigInt(ip: string): bigint {
  if (net.isIPv4(ip)) {
    return ip.split('.').reduce((acc, part) => (acc << 8n) + BigInt(Number(part)), 0n);
  }
  // Expand IPv6 (including an embedded IPv4 tail) into 8 hextets.
  let addr = ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(addr);
  if (v4 && v4[1]) {
    const n = ipToBigInt(v4[1]);
    addr = addr.slice(0, -v4[1].length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = addr.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail !== undefined ? Array(8 - h.length - t.length).fill('0') : [];
  return [...h, ...fill, ...t].reduce((acc, part) => (acc << 16n) + BigInt(parseInt(part || '0', 16)), 0n);
}
