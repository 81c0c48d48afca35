import net from 'node:net';
import type { AddressInfo } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import Dockerode from 'dockerode';
import { checkNetworkFromContainers } from '../../src/backends/docker/doctor.js';
import { checkNetworkFromHost } from '../../src/doctor/index.js';
import { requireDocker, TEST_IMAGE } from '../helpers/engines.js';
import { tempDir } from '../runner/util.js';
import { config, context, pool } from './util.js';

async function listening(t: ExecutionContext, host = '127.0.0.1'): Promise<number> {
  const srv = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => srv.listen(0, host, () => r()));
  t.teardown(() => new Promise<void>((r) => srv.close(() => r())));
  return (srv.address() as AddressInfo).port;
}

/** A port nothing listens on: bind, read, close. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

test('network.checks from the host: reachable ok, unreachable and unresolvable fail with a fix', async (t) => {
  const dataDir = await tempDir(t, 'rf-doctor-');
  const up = await listening(t);
  const down = await closedPort();
  const cfg = config(dataDir, {
    network: { dns: [], extraHosts: { 'argocd.internal.test': '127.0.0.1' }, checks: [`127.0.0.1:${up}`, `127.0.0.1:${down}`, `argocd.internal.test:${up}`, 'no-such-host.invalid:443'] },
  });
  const rows = await checkNetworkFromHost(context(cfg));
  t.deepEqual(rows.map((r) => r.status), ['ok', 'fail', 'ok', 'fail']);
  t.truthy(rows[1]?.hint);
  t.regex(rows[3]!.hint!, /extraHosts|dns/);
});

test('network.checks from inside a container on the pool network with the pool image', async (t) => {
  if (!(await requireDocker(t))) return;
  const dataDir = await tempDir(t, 'rf-doctor-');
  const up = await listening(t);
  const down = await closedPort();
  const docker = new Dockerode();
  const p = pool({
    backend: 'docker',
    docker: { image: TEST_IMAGE, runnerFrom: 'cache', network: 'host', privileged: false, dockerSocket: false, imageRunnerDir: '/home/runner', pull: 'never' },
    network: { dns: [], extraHosts: { 'argocd.internal.test': '127.0.0.1' }, checks: [`127.0.0.1:${up}`, `127.0.0.1:${down}`, `argocd.internal.test:${up}`] },
  });
  const rows = await checkNetworkFromContainers(context(config(dataDir, { pools: [p] }), { docker }));
  t.deepEqual(rows.map((r) => r.status), ['ok', 'fail', 'ok'], JSON.stringify(rows));
  t.regex(rows[0]!.name, /from pool cd/);
  // The probe container is gone.
  const left = await docker.listContainers({ all: true, filters: { label: ['io.runner-fleet.doctor=1'] } });
  t.is(left.filter((c) => c.Image === TEST_IMAGE && c.State !== 'removing').length, 0);
});
