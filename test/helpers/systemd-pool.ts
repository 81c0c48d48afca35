/**
 * Shared setup of the daemon-on-real-systemd tests: a data dir mounted into the systemd container
 * at the same path, the job user `runner`, and a systemd backend rooted in a per-test host dir.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { createSystemdBackend } from '../../src/backends/systemd/index.js';
import { silentLogger } from '../../src/log.js';
import type { Emulator } from '../emulator/types.js';
import { startTestDaemon, type DaemonFixture } from './daemon.js';
import { requireSystemdHost, type SystemdHost } from './systemd-host.js';

/** Mounted into the container at the same path; traversable by the job user. Removed after the file's tests. */
export function sharedMountDir(prefix: string): string {
  const shared = mkdtempSync(path.join('/tmp', prefix));
  chmodSync(shared, 0o755);
  test.after.always(() => rmSync(shared, { recursive: true, force: true }));
  return shared;
}

/** The systemd host with `shared` mounted and the non-root job user `runner`; undefined when absent (requireSystemdHost decides). */
export async function systemdHostWithRunnerUser(t: ExecutionContext, shared: string): Promise<SystemdHost | undefined> {
  const sd = await requireSystemdHost(t, { mounts: [shared] });
  if (!sd) return undefined;
  await sd.sh('id runner >/dev/null 2>&1 || useradd --create-home --shell /bin/bash runner');
  return sd;
}

/** The daemon's dir for `host` under `shared` and a systemd backend talking to `sd`. */
export function systemdBackendIn(sd: SystemdHost, shared: string, host: string) {
  const dir = path.join(shared, host);
  mkdirSync(dir, { mode: 0o755 });
  const systemd = createSystemdBackend({ host, logger: silentLogger(), run: sd.run, files: sd.files, pollMs: 500, stopPollMs: 100 });
  return { dir, systemd };
}

/** Pool `cd` (org acme, label cd-pipeline) on systemd with job user `runner`; `extra` holds more pool lines. */
export function systemdPoolYaml(o: { size: number; ephemeral: boolean; extra?: string }): string {
  return `  - name: cd
    scope: { org: acme }
    labels: [cd-pipeline]
    backend: systemd
    size: ${o.size}
    ephemeral: ${o.ephemeral}
${o.extra ?? ''}    systemd: { user: runner }
`;
}

/**
 * The in-process daemon for `host` on the systemd backend (dir under `shared`), drained at teardown.
 * Teardowns run last-registered first: the daemon drains its units before the container goes.
 */
export async function startSystemdDaemon(
  t: ExecutionContext, emu: Emulator, sd: SystemdHost, shared: string, host: string, pool: string, extra?: string,
): Promise<DaemonFixture> {
  const { dir, systemd } = systemdBackendIn(sd, shared, host);
  const fx = await startTestDaemon(t, emu, pool, { extra, host, dir, daemon: { backends: { systemd } } });
  t.teardown(() => fx.stop('drain'));
  return fx;
}
