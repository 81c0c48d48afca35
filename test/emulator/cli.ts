/**
 * Standalone emulator for demos and container tests:
 *   node --import tsx test/emulator/cli.ts --port 8090 [--pat X] [--org O] [--repo O/R] [--runner-version V]
 *     [--webhook-url URL --webhook-secret S] [--busy-lag-ms N]
 * Prints one JSON line {url, apiUrl, port, pats, runnerVersions, releases} and runs until SIGINT/SIGTERM.
 * Options --org/--repo/--pat/--runner-version may repeat.
 */
import { parseArgs } from 'node:util';
import { startEmulator } from './index.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    pat: { type: 'string', multiple: true },
    org: { type: 'string', multiple: true },
    repo: { type: 'string', multiple: true },
    'runner-version': { type: 'string', multiple: true },
    'webhook-url': { type: 'string' },
    'webhook-secret': { type: 'string' },
    'busy-lag-ms': { type: 'string' },
  },
});

const pats = values.pat ?? ['test-pat'];
const runnerVersions = values['runner-version'] ?? ['2.330.0'];
const emu = await startEmulator({
  port: Number(values.port),
  pats,
  orgs: values.org,
  repos: values.repo?.map((fullName) => ({ fullName, visibility: 'private' as const })),
  runnerVersions,
  busyLagMs: values['busy-lag-ms'] ? Number(values['busy-lag-ms']) : undefined,
  webhook: values['webhook-url'] ? { url: values['webhook-url'], secret: values['webhook-secret'] ?? '' } : undefined,
});

process.stdout.write(
  `${JSON.stringify({
    url: emu.url,
    apiUrl: emu.apiUrl,
    port: Number(new URL(emu.url).port),
    pats,
    runnerVersions,
    releases: Object.fromEntries(runnerVersions.map((v) => [v, emu.runnerRelease(v)])),
  })}\n`,
);

let closing = false;
const shutdown = (): void => {
  if (closing) return;
  closing = true;
  emu.close().then(() => process.exit(0), () => process.exit(1));
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
