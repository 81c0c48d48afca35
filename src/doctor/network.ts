import crypto from 'node:crypto';
import net from 'node:net';
import type { PoolConfig } from '../config/types.js';
import { describeError } from '../errors.js';
import { fail, ok, warn, type Check, type CheckResult, type DoctorContext } from './types.js';

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
  const all = [...ctx.cfg.network.checks, ...ctx.cfg.pools.filter((p) => p.backend !== 'docker').flatMap((p) => p.network.checks)];
  return [...new Set(all)];
}

const HINT_DNS = 'the name does not resolve here: fix DNS, or map it in network.extraHosts / network.dns';
const HINT_TCP = 'open the firewall / security group from this host to that port; jobs connect directly (CLI tools like argocd --grpc-web ignore no_proxy rules you may expect)';

/** From the host: what process and systemd runners see. extraHosts applies like in a container. */
export const checkNetworkFromHost: Check = async (ctx) => {
  const out: CheckResult[] = [];
  for (const ep of hostEndpoints(ctx)) {
    const name = `reach ${ep}`;
    const hp = splitEndpoint(ep);
    if (!hp) {
      out.push(fail(name, 'not host:port', 'write network.checks entries as host:port'));
      continue;
    }
    const mapped = ctx.cfg.network.extraHosts[hp.host];
    const err = await tcpProbe(mapped ?? hp.host, hp.port, ctx.tcpTimeoutMs ?? 3000);
    const via = mapped ? ` (extraHosts → ${mapped})` : '';
    if (!err) out.push(ok(name, `TCP connect from host${via}`));
    else out.push(fail(name, `from host${via}: ${err}`, err === 'ENOTFOUND' || err === 'EAI_AGAIN' ? HINT_DNS : HINT_TCP));
  }
  return out;
};

/**
 * Inside a container on the pool's network, with its image, DNS and extra hosts: exactly what a
 * job sees. One short-lived container per pool probes every endpoint (nc, else bash /dev/tcp).
 */
const PROBE = `for ep in "$@"; do h="\${ep%:*}"; p="\${ep##*:}"
if command -v nc >/dev/null 2>&1; then nc -z -w3 "$h" "$p" >/dev/null 2>&1 && r=ok || r=fail
elif command -v bash >/dev/null 2>&1; then timeout 4 bash -c "exec 3<>/dev/tcp/$h/$p" >/dev/null 2>&1 && r=ok || r=fail
else r=noprobe; fi
echo "RFPROBE $r $ep"; done`;

export const checkNetworkFromContainers: Check = async (ctx) => {
  const pools = ctx.cfg.pools.filter((p) => p.backend === 'docker' && p.docker && p.network.checks.length > 0);
  const out: CheckResult[] = [];
  for (const pool of pools) out.push(...(await probePool(ctx, pool)));
  return out;
};

async function probePool(ctx: DoctorContext, pool: PoolConfig): Promise<CheckResult[]> {
  const d = pool.docker!;
  const eps = [...new Set(pool.network.checks)];
  const label = (ep: string) => `reach ${ep} from pool ${pool.name}`;
  if (!ctx.docker) return eps.map((ep) => fail(label(ep), 'no Docker client'));
  try {
    await ctx.docker.getImage(d.image).inspect();
  } catch {
    return eps.map((ep) => warn(label(ep), `image ${d.image} not present; not probed`, `docker pull ${d.image}`));
  }
  let output: string;
  try {
    output = await runProbe(ctx, pool, eps);
  } catch (err) {
    return eps.map((ep) => fail(label(ep), `probe container failed: ${describeError(err)}`, 'check that the pool network exists (docker network ls)'));
  }
  return eps.map((ep) => {
    const line = output.split('\n').find((l) => l.trim().endsWith(` ${ep}`) && l.startsWith('RFPROBE '));
    const r = line?.split(' ')[1];
    const where = `in ${d.image} on network ${d.network ?? 'default'}`;
    if (r === 'ok') return ok(label(ep), `TCP connect ${where}`);
    if (r === 'noprobe') return warn(label(ep), `${d.image} has neither nc nor bash`, 'probe by hand from a job');
    return fail(label(ep), `no TCP connect ${where}`, 'check network.dns / extraHosts for the pool and the route from the Docker network (docker network inspect); a host that works outside the container points at DNS or the bridge');
  });
}

async function runProbe(ctx: DoctorContext, pool: PoolConfig, eps: string[]): Promise<string> {
  const docker = ctx.docker!;
  const d = pool.docker!;
  const extra = Object.entries(pool.network.extraHosts).map(([h, ip]) => `${h}:${ip}`);
  const container = await docker.createContainer({
    name: `runner-fleet-doctor-${crypto.randomBytes(4).toString('hex')}`,
    Image: d.image,
    Entrypoint: ['sh', '-c', PROBE, 'rf-probe', ...eps],
    Cmd: [],
    User: '',
    Labels: { 'io.runner-fleet.doctor': '1' },
    HostConfig: {
      ...(d.network ? { NetworkMode: d.network } : {}),
      ...(pool.network.dns.length ? { Dns: pool.network.dns } : {}),
      ...(extra.length ? { ExtraHosts: extra } : {}),
    },
  });
  try {
    await container.start();
    const timeoutMs = 10_000 + eps.length * 5_000;
    const waited = await Promise.race([
      container.wait(),
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs).unref()),
    ]);
    if (waited === 'timeout') throw new Error(`probe did not finish in ${timeoutMs} ms`);
    return await logsOf(container);
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}

async function logsOf(container: import('dockerode').Container): Promise<string> {
  const buf = (await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
  // Non-TTY logs are multiplexed: 8-byte frame headers before each chunk.
  const chunks: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const len = buf.readUInt32BE(i + 4);
    chunks.push(buf.subarray(i + 8, i + 8 + len));
    i += 8 + len;
  }
  return Buffer.concat(chunks).toString('utf8');
}
