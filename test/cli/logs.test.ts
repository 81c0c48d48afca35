import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { createDockerBackend } from '../../src/backends/docker/index.js';
import { main } from '../../src/cli/index.js';
import { silentLogger } from '../../src/log.js';
import { BUSYBOX_IMAGE, requireDocker } from '../helpers/engines.js';
import { until } from '../helpers/poll.js';
import { tempDir } from '../helpers/temp.js';

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'runner-fleet', ...args], {
    env: {},
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  });
  return { code, stdout, stderr };
}

test('logs <runner> prints the docker runner output; unknown runners are usage errors', async (t) => {
  if (!(await requireDocker(t))) return;
  const dir = await tempDir(t, 'rf-logs-');
  const host = `lg${process.pid}`;
  const name = `${host}-cd-abc123`;
  const root = path.join(dir, 'runners', name);
  await mkdir(root, { recursive: true });
  const backend = createDockerBackend({ host, logger: silentLogger() });
  t.teardown(async () => {
    await backend.destroy(name, { graceMs: 0 });
  });
  const config = path.join(dir, 'config.yaml');
  await writeFile(config, `host: { name: ${host}, dataDir: ${dir} }
github: { auth: { token: t0ken } }
pools:
  - name: cd
    scope: { org: acme }
    size: 1
    backend: docker
    docker: { image: ${BUSYBOX_IMAGE} }
`, { mode: 0o600 });
  // stdout and stderr are separate pipes: the pause keeps their order in the log deterministic.
  await backend.create({
    name, pool: 'cd', host, root, command: ['/bin/sh', '-c', 'echo line1; echo line2; sleep 0.3; echo oops >&2; exec sleep 300'],
    env: {}, secretEnv: {}, mounts: [], ephemeral: true, network: { dns: [], extraHosts: {} },
    docker: { image: BUSYBOX_IMAGE, runnerFrom: 'cache', privileged: false, dockerSocket: false, imageRunnerDir: '/home/runner', pull: 'never' },
  });
  const r = await until(async () => {
    const x = await run(['-c', config, 'logs', name, '--tail', '2']);
    return x.stdout.includes('oops') ? x : undefined;
  }, 30_000, 'logs');
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'line2\noops\n');
  t.is((await run(['-c', config, 'logs', `${host}-other-abc123`])).code, 2);
  t.is((await run(['-c', config, 'logs', name, '--tail', 'x'])).code, 2);
});
