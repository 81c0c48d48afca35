import crypto from 'node:crypto';
import type { PoolOf } from '../../config/types.js';
import { fail, ok, skip, warn, type Check, type CheckResult, type DoctorContext } from '../../doctor/types.js';
import { describeError } from '../../errors.js';
import { poolsOf } from '../pools.js';

/** Loaded on demand: every CLI start (the daemon's too) would otherwise pay for dockerode. */
export async function prepareDoctor(ctx: DoctorContext): Promise<void> {
  ctx.docker ??= new (await import('dockerode')).default();
}


export const checkDocker: Check = async (ctx) => {
  const pools = poolsOf(ctx.cfg, 'docker');
  if (pools.length === 0) return [];
  if (!ctx.docker) return [fail('docker', 'no Docker client', 'check DOCKER_HOST')];
  try {
    await ctx.docker.ping();
  } catch (err) {
    return [fail('docker', `engine unreachable: ${describeError(err)}`, 'start dockerd (systemctl start docker); give the service user access to /var/run/docker.sock (docker group) or set DOCKER_HOST')];
  }
  const out: CheckResult[] = [ok('docker', 'engine reachable')];
  for (const image of new Set(pools.map((p) => p.docker.image))) {
    const never = pools.some((p) => p.docker.image === image && p.docker.pull === 'never');
    try {
      await ctx.docker.getImage(image).inspect();
      out.push(ok(`image ${image}`, 'present'));
    } catch {
      out.push(
        never
          ? fail(`image ${image}`, 'not present and pull: never', `docker pull ${image} (or docker load it); verify the tag exists`)
          : warn(`image ${image}`, 'not present; pulled at first start', `docker pull ${image} now to make the first start fast and catch a wrong tag or missing registry credentials`),
      );
    }
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
  const pools = poolsOf(ctx.cfg, 'docker').filter((p) => p.network.checks.length > 0);
  // No probe container without an engine: its rows would only repeat the engine's failure.
  const engine = ctx.prior?.get('docker')?.find((r) => r.name === 'docker' && r.status === 'fail');
  if (engine) return pools.flatMap((p) => [...new Set(p.network.checks)].map((ep) => skip(`reach ${ep} from pool ${p.name}`, `not checked: ${engine.name} failed`)));
  const out: CheckResult[] = [];
  for (const pool of pools) out.push(...(await probePool(ctx, pool)));
  return out;
};

async function probePool(ctx: DoctorContext, pool: PoolOf<'docker'>): Promise<CheckResult[]> {
  const d = pool.docker;
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

async function runProbe(ctx: DoctorContext, pool: PoolOf<'docker'>, eps: string[]): Promise<string> {
  const docker = ctx.docker;
  if (!docker) throw new Error('no Docker client');
  const d = pool.docker;
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
