import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Dockerode from 'dockerode';
import type { ExecutionContext } from 'ava';

/** Local images built by scripts/test-env/images.sh (no registry needed). */
export const TEST_IMAGE = 'runner-fleet-test/bookworm:latest';
export const BUSYBOX_IMAGE = 'runner-fleet-test/busybox:latest';

const SETUP = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../scripts/test-env/setup.sh');
const run = promisify(execFile);

async function dockerReady(docker: Dockerode): Promise<string | undefined> {
  try {
    await docker.ping();
  } catch (err) {
    return `Docker engine unreachable (${(err as Error).message})`;
  }
  for (const image of [TEST_IMAGE, BUSYBOX_IMAGE]) {
    try {
      await docker.getImage(image).inspect();
    } catch {
      return `test image ${image} missing`;
    }
  }
  return undefined;
}

/**
 * One check (and at most one setup attempt) per test process, however many tests ask at once;
 * across processes, setup.sh's own locks make concurrent callers wait for a single setup.
 */
let quick: Promise<string | undefined> | undefined;
let pending: Promise<string | undefined> | undefined;

/**
 * The rule, CI or not: tests run as root on a machine without an engine set it up themselves
 * (the README's `npm ci && npm test` on a fresh machine, and .ci/run, which runs exactly that).
 * CI=true never means "skip": whatever cannot be set up fails the suite.
 */
function canSetUp(): boolean {
  return process.getuid?.() === 0;
}

function ensure(): Promise<string | undefined> {
  pending ??= (async () => {
    const docker = new Dockerode();
    const problem = await (quick ??= dockerReady(docker));
    if (!problem) return undefined;
    if (!canSetUp()) {
      return `${problem}: run the tests as root (the setup then installs the engine) or \`sudo scripts/test-env/setup.sh\` first`;
    }
    try {
      await run(SETUP, [], { timeout: 15 * 60_000 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      return `${problem}; scripts/test-env/setup.sh failed: ${e.stderr?.trim().split('\n').slice(-5).join(' | ') || e.message}`;
    }
    return dockerReady(docker);
  })();
  return pending;
}

/**
 * Docker with the test images, or a failed test saying how to get it. Never skips: a suite that
 * silently passes without its engine proves nothing. Usage:
 *   if (!(await requireDocker(t))) return;
 */
export async function requireDocker(t: ExecutionContext): Promise<boolean> {
  const setup = ensure();
  // A first-time setup (debootstrap) outlasts ava's default timeout; only then is it raised.
  if ((await quick) && canSetUp()) t.timeout(16 * 60_000, 'one-time test environment setup');
  const problem = await setup;
  if (problem) {
    t.fail(problem);
    return false;
  }
  return true;
}
