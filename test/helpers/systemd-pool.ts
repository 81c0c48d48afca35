/**
 * Shared setup of the daemon-on-real-systemd tests: a data dir mounted into the systemd container
 * at the same path, the job user `runner`, and a systemd backend rooted in a per-test host dir.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { createSystemdBackend } from '../../src/backends/systemd/index.js';
import { silentLogger } from '../../src/log.js';
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
