/**
 * Fake CD tools served by the GitHub emulator, for the daemon's tool e2e tests: tiny shell
 * scripts as binaries, one plain with a pinned sha256, one verified through a sha256sum-format
 * checksumUrl, one inside a tar.gz (`binary:` path). Also a pino capture for log greps.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { hostArch } from '../../src/config/names.js';
import { createLogger, type Logger } from '../../src/log.js';
import type { ExecutionContext } from 'ava';
import { startEmulator } from '../emulator/index.js';
import type { Emulator } from '../emulator/types.js';
import type { DaemonFixture } from '../helpers/daemon.js';
import { startSystemdDaemon, systemdHostWithRunnerUser } from '../helpers/systemd-pool.js';
import type { SystemdHost } from '../helpers/systemd-host.js';
import { makeTarGz } from '../tools/archives.js';

export const ARGOCD_OUT = 'argocd: v2.13.3+fake';
export const YQ_OUT = 'yq (https://github.com/mikefarah/yq/) version v4.40.5';
export const HELM_OUT = 'version.BuildInfo{Version:"v3.16.2+fake"}';

export const ARGOCD = `#!/bin/sh
if [ "$1" = version ] && [ "$2" = --client ]; then echo '${ARGOCD_OUT}'; exit 0; fi
echo "argocd (fake): unknown command $*" >&2; exit 1
`;
const YQ = `#!/bin/sh
if [ "$1" = --version ]; then echo '${YQ_OUT}'; exit 0; fi
exit 1
`;
const HELM = `#!/bin/sh
[ "$1" = version ] && echo '${HELM_OUT}'
`;

export const sha256 = (b: Buffer | string) => crypto.createHash('sha256').update(b).digest('hex');

export interface FakeTools {
  /** `tools:` YAML block for the config. */
  yaml: string;
  /** Job script: every tool's version, and where PATH found it. */
  script: string;
}

/** Serves argocd (sha256), yq (checksumUrl) and helm (tar.gz with binary: path) for this host's arch. */
export async function serveTools(emu: Emulator): Promise<FakeTools> {
  const a = hostArch() === 'x64' ? 'amd64' : hostArch(); // the default archMap
  const base = `${emu.url}/_files/tools`;
  emu.serveFile(`tools/argocd/v2.13.3/argocd-linux-${a}`, ARGOCD);
  emu.serveFile(`tools/yq/v4.40.5/yq_linux_${a}`, YQ);
  // sha256sum format, several files listed: the installer must pick its own line.
  const sums = [`${sha256('darwin')} *yq_darwin_${a}`, `${sha256(YQ)}  yq_linux_${a}`, `${sha256('win')}  yq_windows_${a}.exe`];
  emu.serveFile('tools/yq/v4.40.5/checksums', `${sums.join('\n')}\n`);
  const tgz = await makeTarGz({ [`linux-${a}/helm`]: HELM, [`linux-${a}/README.md`]: 'helm\n' });
  emu.serveFile(`tools/helm/v3.16.2/helm-v3.16.2-linux-${a}.tar.gz`, tgz);
  return {
    yaml: `tools:
  - name: argocd
    version: v2.13.3
    url: "${base}/argocd/{version}/argocd-linux-{arch}"
    sha256: ${sha256(ARGOCD)}
    versionCommand: [version, --client]
  - name: yq
    version: v4.40.5
    url: "${base}/yq/{version}/yq_linux_{arch}"
    checksumUrl: "${base}/yq/{version}/checksums"
  - name: helm
    version: v3.16.2
    url: "${base}/helm/{version}/helm-{version}-linux-{arch}.tar.gz"
    sha256: ${sha256(tgz)}
    binary: "linux-{arch}/helm"
`,
    script: 'argocd version --client\nyq --version\nhelm version\nfor t in argocd yq helm; do echo "where-$t=$(command -v $t)"; done\n',
  };
}

/** Where the daemon installs a tool: {dataDir}/tools/{name}/{version}/{arch}/{name}. */
export const toolBin = (dataDir: string, name: string, version: string) => path.join(dataDir, 'tools', name, version, hostArch(), name);

/** Regular files under dir (recursive); [] when dir does not exist. */
export function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => !e.isDirectory())
    .map((e) => path.join(e.parentPath, e.name));
}

/** A debug-level daemon logger whose JSON lines are kept for greps. */
export function captureLogger(): { logger: Logger; text: () => string } {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(s) } });
  return { logger, text: () => lines.join('') };
}

/** Teardown: drain (runners deregistered and stopped, none left behind), then drop the temp dir. */
export async function stopAndRemove(fx: DaemonFixture): Promise<void> {
  await fx.stop('drain');
  await fs.promises.rm(fx.dir, { recursive: true, force: true });
}

/**
 * The systemd host (`shared` mounted, job user `runner`), the emulator serving the fake tools, and
 * the daemon for `host` on systemd with those tools, ready. Undefined when the systemd host is absent.
 */
export async function systemdToolsDaemon(t: ExecutionContext, shared: string, host: string, pool: string): Promise<{
  sd: SystemdHost; emu: Emulator; tools: FakeTools; fx: DaemonFixture; dataDir: string;
} | undefined> {
  const sd = await systemdHostWithRunnerUser(t, shared);
  if (!sd) return undefined;
  const emu = await startEmulator();
  t.teardown(() => emu.close());
  const tools = await serveTools(emu);
  const fx = await startSystemdDaemon(t, emu, sd, shared, host, pool, tools.yaml);
  await fx.daemon.ready;
  return { sd, emu, tools, fx, dataDir: fx.config.host.dataDir };
}
