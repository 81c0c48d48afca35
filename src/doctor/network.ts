import net from 'node:net';
import { moduleOf } from '../backends/index.js';
import { fail, ok, type Check, type CheckResult, type DoctorContext } from './types.js';

export function splitEndpoint(ep: string): { host: string; port: number } | null {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(ep.trim());
  if (!m || !m[1] || !m[2]) return null;
  return { host: m[1], port: Number(m[2]) };
}

/** TCP connect with a timeout; resolves to null on success or the error code/message. */
export function tcpProbe(host: string, port: number, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (err: string | null) => {
      sock.destroy();
      resolve(err);
    };
    sock.setTimeout(timeoutMs, () => done(`timed out after ${timeoutMs} ms`));
    sock.once('connect', () => done(null));
    sock.once('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
  });
}

function hostEndpoints(ctx: DoctorContext): string[] {
  const all = [...ctx.cfg.network.checks, ...ctx.cfg.pools.filter((p) => moduleOf(p.backend).hostNetwork).flatMap((p) => p.network.checks)];
  return [...new Set(all)];
}

const HINT_DNS = 'the name does not resolve here: fix DNS, or map it in network.extraHosts / network.dns';
const HINT_TCP = 'open the firewall / security group from this host to that port; jobs connect directly (CLI tools like argocd --grpc-web ignore no_proxy rules you may expect)';

/** From the host: what process and systemd runners see. extraHosts applies like in a container. */
export const checkNetworkFromHost: Check = async (ctx) =>
  // In parallel: on an offline host every probe waits for its own timeout.
  Promise.all(hostEndpoints(ctx).map(async (ep): Promise<CheckResult> => {
    const name = `reach ${ep}`;
    const hp = splitEndpoint(ep);
    if (!hp) return fail(name, 'not host:port', 'write network.checks entries as host:port');
    const mapped = ctx.cfg.network.extraHosts[hp.host];
    const err = await tcpProbe(mapped ?? hp.host, hp.port, ctx.tcpTimeoutMs ?? ctx.timeoutMs ?? 3000);
    const via = mapped ? ` (extraHosts → ${mapped})` : '';
    if (!err) return ok(name, `TCP connect from host${via}`);
    const dns = err === 'ENOTFOUND' || err === 'EAI_AGAIN';
    const cause = dns ? 'dns' : 'connect';
    return { ...fail(name, `${cause}: from host${via}: ${err}`, dns ? HINT_DNS : HINT_TCP), cause };
  }));
