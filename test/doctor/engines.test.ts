import test from 'ava';
import Dockerode from 'dockerode';
import { checkDocker } from '../../src/backends/docker/doctor.js';
import { checkSystemd } from '../../src/backends/systemd/doctor.js';
import { defaultExec, type ExecResult } from '../../src/doctor/index.js';
import { requireDocker, TEST_IMAGE } from '../helpers/engines.js';
import { tempDir } from '../runner/util.js';
import { config, context, pool } from './util.js';

const dockerPool = (name: string, image: string) =>
  pool({ name, backend: 'docker', docker: { image, runnerFrom: 'cache', privileged: false, dockerSocket: false, imageRunnerDir: '/home/runner', pull: 'never' } });

test('docker: engine reachable, image present ok, missing image with pull: never fails', async (t) => {
  if (!(await requireDocker(t))) return;
  const dataDir = await tempDir(t, 'rf-doctor-');
  const cfg = config(dataDir, { pools: [dockerPool('a', TEST_IMAGE), dockerPool('b', 'runner-fleet-test/no-such-image:never')] });
  const rows = await checkDocker(context(cfg, { docker: new Dockerode() }));
  t.deepEqual(rows.map((r) => r.status), ['ok', 'ok', 'fail']);
  const unreachable = await checkDocker(context(cfg, { docker: new Dockerode({ socketPath: `${dataDir}/no.sock` }) }));
  t.is(unreachable[0]?.status, 'fail');
  t.truthy(unreachable[0]?.hint);
  t.deepEqual(await checkDocker(context(config(dataDir))), [], 'no docker pool: no row');
});

test('systemd: the system state maps to ok / warn / fail', async (t) => {
  const dataDir = await tempDir(t, 'rf-doctor-');
  const cfg = config(dataDir, { pools: [pool({ backend: 'systemd', systemd: { user: 'runner' } })] });
  const fake = (state: string) => async (_c: string, args: string[]): Promise<ExecResult> =>
    args[0] === '--version' ? { code: 0, stdout: 'systemd 252\n', stderr: '' } : { code: state === 'running' ? 0 : 1, stdout: `${state}\n`, stderr: '' };
  t.is((await checkSystemd(context(cfg, { exec: fake('running') })))[0]?.status, 'ok');
  t.is((await checkSystemd(context(cfg, { exec: fake('degraded') })))[0]?.status, 'warn');
  t.is((await checkSystemd(context(cfg, { exec: fake('offline') })))[0]?.status, 'fail');
  const missing = await checkSystemd(context(cfg, { exec: (_c, a, ms) => defaultExec('/nonexistent/systemctl', a, ms) }));
  t.is(missing[0]?.status, 'fail');
  // The real machine answers something sensible either way.
  const real = await checkSystemd(context(cfg));
  t.true(['ok', 'warn', 'fail'].includes(real[0]!.status));
});
