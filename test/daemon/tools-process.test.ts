/**
 * CD tools through the daemon with a process pool: served by the emulator, installed and
 * verified before any runner starts, on the job's PATH; a checksum mismatch installs nothing;
 * a tampered tool is found at the next start and reinstalled.
 */
import fs from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { hostArch } from '../../src/config/names.js';
import { startEmulator } from '../emulator/index.js';
import type { Emulator } from '../emulator/types.js';
import { poolYaml, startTestDaemon, until } from '../helpers/daemon.js';
import { ARGOCD, ARGOCD_OUT, HELM_OUT, YQ_OUT, captureLogger, filesUnder, serveTools, sha256, stopAndRemove, toolBin } from './tools-kit.js';
import { tempDir } from '../helpers/temp.js';

const pool = (size: number): string => poolYaml({ name: 'cd', size });

async function emulator(t: ExecutionContext): Promise<Emulator> {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  return emu;
}

async function runJob(emu: Emulator, host: string, script: string) {
  await emu.waitForRunners((rs) => rs.some((r) => r.name.startsWith(`${host}-cd-`) && r.status === 'online'), 30_000);
  return emu.waitForJob(emu.queueJob({ labels: ['self-hosted', 'cd-pipeline'], script }), 30_000);
}

test('tools (plain sha256, checksumUrl, tar.gz binary) install, verify and are on the job PATH', async (t) => {
  const emu = await emulator(t);
  const tools = await serveTools(emu);
  const host = 'tp1';
  const fx = await startTestDaemon(t, emu, pool(1), { extra: tools.yaml, host });
  t.teardown(() => stopAndRemove(fx));
  await fx.daemon.ready;
  const dataDir = fx.config.host.dataDir;

  const job = await runJob(emu, host, `${tools.script}echo "cache=$RUNNER_TOOL_CACHE"\n`);
  t.is(job.conclusion, 'success', job.output);
  for (const out of [ARGOCD_OUT, YQ_OUT, HELM_OUT]) t.true(job.output.includes(out), out);
  for (const [name, version] of [['argocd', 'v2.13.3'], ['yq', 'v4.40.5'], ['helm', 'v3.16.2']] as const) {
    t.true(job.output.includes(`where-${name}=${toolBin(dataDir, name, version)}`), name);
    t.true(fs.existsSync(`${path.dirname(toolBin(dataDir, name, version))}.complete`), `${name} marker`);
  }
  t.true(job.output.includes(`cache=${path.join(dataDir, 'tools')}`));

  // The archive left only its binary; versionCommand output and hashes are recorded.
  t.deepEqual(fs.readdirSync(path.dirname(toolBin(dataDir, 'helm', 'v3.16.2'))), ['helm']);
  const argocd = fx.daemon.store.tools.get('argocd', 'v2.13.3', hostArch());
  t.is(argocd?.versionOutput, ARGOCD_OUT);
  t.is(argocd?.sha256, sha256(ARGOCD));
  t.is(fx.daemon.store.tools.list().length, 3);
});

test('a checksum mismatch is refused: nothing installed, logged, the other tools still on PATH', async (t) => {
  const emu = await emulator(t);
  const served = await serveTools(emu);
  const host = 'tp2';
  const bad = served.yaml.replace(`sha256: ${sha256(ARGOCD)}`, `sha256: ${sha256('not argocd')}`);
  t.not(bad, served.yaml);
  const cap = captureLogger();
  const fx = await startTestDaemon(t, emu, pool(1), { extra: bad, host, logger: cap.logger });
  t.teardown(() => stopAndRemove(fx));
  await fx.daemon.ready;
  const dataDir = fx.config.host.dataDir;

  t.regex(cap.text(), /CHECKSUM_MISMATCH/);
  const tools = path.join(dataDir, 'tools');
  t.deepEqual(filesUnder(tools).filter((f) => !/^(yq|helm)\//.test(path.relative(tools, f))), [], 'no partial files');
  t.false(fs.existsSync(`${path.dirname(toolBin(dataDir, 'argocd', 'v2.13.3'))}.complete`));
  t.is(fx.daemon.store.tools.get('argocd', 'v2.13.3', hostArch()), undefined);

  const job = await runJob(emu, host, 'command -v argocd || echo no-argocd\nyq --version\nhelm version\n');
  t.is(job.conclusion, 'success', job.output);
  t.regex(job.output, /no-argocd/);
  t.true(job.output.includes(YQ_OUT));
  t.true(job.output.includes(HELM_OUT));
});

test('a tampered tool is detected at the next daemon start (TOOL_TAMPERED) and reinstalled', async (t) => {
  const emu = await emulator(t);
  const tools = await serveTools(emu);
  const host = 'tp3';
  const dir = await tempDir(t, 'rf-tamper-');

  const first = await startTestDaemon(t, emu, pool(0), { extra: tools.yaml, host, dir });
  await first.daemon.ready;
  await first.stop('drain');
  const bin = toolBin(first.config.host.dataDir, 'argocd', 'v2.13.3');
  t.is(sha256(fs.readFileSync(bin)), sha256(ARGOCD));
  fs.writeFileSync(bin, '#!/bin/sh\necho "argocd: pwned"\n');

  const second = await startTestDaemon(t, emu, pool(1), { extra: tools.yaml, host, dir });
  t.teardown(() => second.stop('drain'));
  await second.daemon.ready;
  const events = second.daemon.store.events.recent(50, { kind: 'TOOL_TAMPERED' });
  t.is(events.length, 1);
  t.like(events[0]?.data, { tool: 'argocd', version: 'v2.13.3', path: bin });
  t.is(sha256(fs.readFileSync(bin)), sha256(ARGOCD), 'reinstalled from the verified download');

  const job = await runJob(emu, host, 'argocd version --client\n');
  t.is(job.conclusion, 'success', job.output);
  t.true(job.output.includes(ARGOCD_OUT));
  t.false(job.output.includes('pwned'));
  await until(() => second.daemon.store.tools.get('argocd', 'v2.13.3', hostArch()), 5_000, 'tool row');
});
