import http from 'node:http';
import net from 'node:net';
import type { ExecutionContext } from 'ava';

export interface ProxiedRequest {
  method: string;
  /** Absolute URL for a forwarded request, host:port for CONNECT. */
  url: string;
  ua: string;
}

/** A forwarding (and CONNECT) proxy on 127.0.0.1 that records what went through it. */
export async function startProxy(t: ExecutionContext): Promise<{ url: string; seen: ProxiedRequest[] }> {
  const seen: ProxiedRequest[] = [];
  const sockets = new Set<net.Socket>();
  const srv = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', ua: String(req.headers['user-agent'] ?? '') });
    const target = new URL(req.url ?? '');
    const up = http.request(
      { host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  srv.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    seen.push({ method: 'CONNECT', url: req.url ?? '', ua: String(req.headers['user-agent'] ?? '') });
    const [host, port] = (req.url ?? '').split(':');
    const up = net.connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
  });
  srv.on('connection', (s: net.Socket) => sockets.add(s));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => srv.close(() => r()));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`, seen };
}
