import type { ExecutionContext } from 'ava';
import { ManualClock } from '../../src/clock.js';
import type { GitHubAuth } from '../../src/config/types.js';
import { createLogger, type Logger } from '../../src/log.js';
import { createGitHubClient, type GitHubClient, type GitHubClientOptions } from '../../src/github/index.js';
import { startEmulator, type Emulator, type EmulatorOptions } from '../emulator/index.js';

export const PAT: GitHubAuth = { kind: 'token', token: 'test-pat' };

/** A pino logger at debug level whose lines are kept for assertions (redaction). */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(s) } });
  return { logger, lines };
}

export interface Setup {
  emu: Emulator;
  client: GitHubClient;
  clock: ManualClock;
  lines: string[];
}

/** One emulator and one client sharing a ManualClock that starts at the real time. */
export async function setup(
  t: ExecutionContext,
  emuOpts: EmulatorOptions = {},
  clientOpts: Partial<GitHubClientOptions> = {},
): Promise<Setup> {
  const clock = new ManualClock(Date.now());
  const emu = await startEmulator({ clock, ...emuOpts });
  t.teardown(() => emu.close());
  const { logger, lines } = capturingLogger();
  const client = createGitHubClient({
    apiUrl: emu.apiUrl,
    auth: PAT,
    logger,
    clock,
    retryBaseMs: 5,
    writeIntervalMs: 0,
    ...clientOpts,
  });
  return { emu, client, clock, lines };
}

/** Emulator-side count for a route template (without the /api/v3 prefix). */
export function emuCount(emu: Emulator, method: string, route: string, status?: number): number {
  return emu
    .requests()
    .filter((r) => r.method === method && r.route === route && (status === undefined || r.status === status))
    .reduce((n, r) => n + r.count, 0);
}

export { until } from '../helpers/poll.js';
