/** Scale-set client tests: one emulator with scale sets and a client for org "acme". */
import type { ExecutionContext } from 'ava';
import { createGitHubClient, type GitHubClient } from '../../src/github/index.js';
import { ScaleSetClient } from '../../src/github/scaleset/index.js';
import type { Scope } from '../../src/github/types.js';
import { startEmulator, type Emulator, type EmulatorOptions } from '../emulator/index.js';
import { capturingLogger, PAT } from '../github/helpers.js';

export const ORG: Scope = { kind: 'org', org: 'acme' };

export interface SsSetup {
  emu: Emulator;
  gh: GitHubClient;
  client: ScaleSetClient;
}

export async function ssSetup(t: ExecutionContext, emuOpts: EmulatorOptions = {}, fetchImpl?: typeof fetch): Promise<SsSetup> {
  const emu = await startEmulator({ ...emuOpts, scaleSets: { holdMs: 300, sessionExpiryMs: 400, ...emuOpts.scaleSets } });
  t.teardown(() => emu.close());
  const { logger } = capturingLogger();
  const gh = createGitHubClient({ apiUrl: emu.apiUrl, auth: PAT, logger, retryBaseMs: 5, writeIntervalMs: 0, fetch: fetchImpl });
  const client = new ScaleSetClient({
    apiUrl: emu.apiUrl, githubUrl: emu.url, scope: ORG, logger, retryBaseMs: 5, fetch: fetchImpl,
    registrationToken: (s) => gh.service.registrationToken(s),
    onRequest: (r) => gh.stats.record(r),
  });
  return { emu, gh, client };
}

/** A scale set `name` in Default with `labels`. */
export async function makeSet(client: ScaleSetClient, name = 'h1-burst', labels = ['burst']): Promise<number> {
  const gid = await client.runnerGroupId('Default');
  return (await client.createScaleSet({ name, runnerGroupId: gid, labels })).id;
}
