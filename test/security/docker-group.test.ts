/**
 * A job user in the docker group can open the Docker socket and start a privileged container:
 * root on the host, whatever the runner's sandbox says. setup-host.sh no longer puts the job user
 * there by default (--job-docker opts in) and doctor warns for systemd and process pools whose job
 * user has it.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { processIsolation } from '../../src/backends/process/isolation.js';
import { dockerSocketGroup } from '../../src/backends/socket-access.js';
import { systemdIsolation } from '../../src/backends/systemd/doctor.js';
import { systemdPlan } from '../../src/backends/systemd/plan.js';
import { processPlan } from '../../src/backends/process/plan.js';
import type { PoolOf } from '../../src/config/types.js';
import type { DoctorContext } from '../../src/doctor/types.js';
import { requireDocker } from '../helpers/engines.js';
import { tempDir } from '../helpers/temp.js';

test('dockerSocketGroup: a supplementary or primary member of the socket group has it; others and unknown users do not', async (t) => {
  const dir = await tempDir(t);
  const files = { passwd: path.join(dir, 'passwd'), group: path.join(dir, 'group'), socket: path.join(dir, 'no-socket') };
  fs.writeFileSync(files.passwd, ['root:x:0:0::/root:/bin/sh', 'ci:x:1000:1000::/home/ci:/bin/sh', 'dk:x:1001:998::/:/bin/sh', 'plain:x:1002:1002::/:/bin/sh', ''].join('\n'));
  fs.writeFileSync(files.group, ['root:x:0:', 'ci:x:1000:', 'docker:x:998:ci,other', 'plain:x:1002:', ''].join('\n'));
  t.is(dockerSocketGroup('ci', files), 'docker');
  t.is(dockerSocketGroup('dk', files), 'docker', 'primary group');
  t.is(dockerSocketGroup('plain', files), undefined);
  t.is(dockerSocketGroup('nobody-here', files), undefined);
  // The socket's own group decides when the socket exists (here: plain's group).
  fs.writeFileSync(files.socket, '');
  fs.chownSync(files.socket, 0, 1002);
  t.is(dockerSocketGroup('plain', files), 'plain');
  t.is(dockerSocketGroup('ci', files), undefined);
});

test('doctor warns for a systemd or process pool whose job user opens the Docker socket', async (t) => {
  if (!(await requireDocker(t))) return;
  const user = 'rf-dockergrp-test';
  const group = socketGroupName();
  try {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', user], { stdio: 'ignore' });
  } catch {
    // left over from an interrupted run
  }
  t.teardown(() => void execFileSync('userdel', [user], { stdio: 'ignore' }));
  const ctx = { cfg: { host: { dataDir: '/var/lib/rf' }, source: '/etc/rf.yaml' } } as unknown as DoctorContext;
  const sd = { name: 'sd', backend: 'systemd', size: 1, systemd: { user } } as unknown as PoolOf<'systemd'>;
  const pr = { name: 'pr', backend: 'process', size: 1, process: { user } } as unknown as PoolOf<'process'>;
  const warnings = () => [...systemdIsolation(sd, ctx, 'isolation sd'), ...processIsolation(pr, ctx, 'isolation pr')].filter((c) => c.status === 'warn');
  t.deepEqual(warnings(), [], 'not in the group: nothing to warn about');
  t.deepEqual([...systemdPlan(sd, 'h1-sd-x').warnings, ...processPlan(pr).warnings], []);
  execFileSync('usermod', ['-aG', group, user]);
  t.is(dockerSocketGroup(user), group);
  t.deepEqual(warnings().map((c) => c.name), ['isolation sd', 'isolation pr']);
  // plan says it too.
  t.is(systemdPlan(sd, 'h1-sd-x').warnings.length, 1);
  t.is(processPlan(pr).warnings.length, 1);
});

/** The group that opens the socket on this host (the engine is installed by the test setup). */
function socketGroupName(): string {
  const gid = fs.statSync('/var/run/docker.sock').gid;
  return execFileSync('getent', ['group', String(gid)], { encoding: 'utf8' }).split(':')[0]!;
}
