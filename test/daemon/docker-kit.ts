/** Shared setup for the Docker end-to-end suites (docker-e2e, docker-restart-e2e). */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { ExecutionContext } from 'ava';
import type Dockerode from 'dockerode';
import { LABEL_HOST } from '../../src/backends/docker/index.js';
import { createLogger, type Logger } from '../../src/log.js';
import type { EmulatedRunner, Emulator } from '../emulator/types.js';
import type { DaemonFixture } from '../helpers/daemon.js';
import { TEST_IMAGE } from '../helpers/engines.js';
import { tempDir } from '../helpers/temp.js';

/** A host name no other suite (or run) shares, so ownership labels never overlap. */
export function uniqueHost(tag: string): string {
  return `${tag}${randomBytes(3).toString('hex')}`;
}

export const ARGOCD_OUT = 'argocd: v2.13.3+fake';
export const YQ_OUT = 'yq (https://github.com/mikefarah/yq/) version v4.40.5';
const ARGOCD = `#!/bin/sh\nif [ "$1" = version ] && [ "$2" = --client ]; then echo "${ARGOCD_OUT}"; exit 0; fi\necho "argocd: unknown command" >&2; exit 1\n`;
const YQ = `#!/bin/sh\nif [ "$1" = --version ]; then echo "${YQ_OUT}"; exit 0; fi\nexit 1\n`;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** `tools:` for the config: fake argocd and yq binaries served by the emulator, pinned by sha256. */
export function toolsYaml(emu: Emulator): string {
  const argocd = emu.serveFile('argocd/v2.13.3/argocd-linux-amd64', ARGOCD).replace('v2.13.3', '{version}').replace('amd64', '{arch}');
  const yq = emu.serveFile('yq/v4.40.5/yq_linux_amd64', YQ).replace('v4.40.5', '{version}').replace('amd64', '{arch}');
  return `tools:
  - name: argocd
    version: v2.13.3
    url: ${argocd}
    sha256: ${sha(ARGOCD)}
    versionCommand: [version, --client]
  - name: yq
    version: v4.40.5
    url: ${yq}
    sha256: ${sha(YQ)}
    versionCommand: [--version]
`;
}

/** A throwaway CA certificate (PEM) and a 0600 secret file in a fresh temp dir. */
export async function secretsDir(t: ExecutionContext, secret: string): Promise<{ dir: string; caFile: string; secretFile: string }> {
  const dir = await tempDir(t, 'rf-docker-e2e-');
  const caFile = path.join(dir, 'internal-ca.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=runner-fleet test CA',
    '-keyout', path.join(dir, 'ca.key'), '-out', caFile,
  ], { stdio: 'ignore' });
  await fs.chmod(caFile, 0o644);
  const secretFile = path.join(dir, 'argocd-token');
  await fs.writeFile(secretFile, `${secret}\n`, { mode: 0o600 });
  return { dir, caFile, secretFile };
}

export interface DockerPoolOptions {
  network?: string;
  size?: number;
  secretFile?: string;
  caFile?: string;
}

/** The pool under test: docker, ephemeral, fixed size, clean env plus network settings. */
export function dockerPoolYaml(o: DockerPoolOptions = {}): string {
  const lines = [
    '  - name: cd',
    '    scope: { org: acme }',
    '    labels: [cd-pipeline]',
    '    backend: docker',
    `    size: ${o.size ?? 2}`,
    '    ephemeral: true',
    '    env: { RUNNER_ALLOW_RUNASROOT: "1", DEPLOY_ENV: staging }',
    `    docker: { image: ${TEST_IMAGE}, network: ${o.network ?? 'host'}, cpus: 1, memory: 512m, pull: never }`,
  ];
  if (o.secretFile) lines.push(`    secretEnv: { ARGOCD_AUTH_TOKEN: ${o.secretFile} }`);
  lines.push(
    '    network:',
    '      proxy: { http: "http://proxy.internal.example:3128", https: "http://proxy.internal.example:3128", noProxy: "127.0.0.1,localhost,.internal.example" }',
    '      dns: [10.0.0.2]',
    '      extraHosts: { argocd.internal.example: 10.20.0.15 }',
  );
  if (o.caFile) lines.push(`      caFile: ${o.caFile}`);
  return `${lines.join('\n')}\n`;
}

/** A real pino logger (with the production redaction) whose JSON lines the test can read. */
export function capturedLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { logger: createLogger({ level: 'debug', destination: sink }), lines };
}

/** Our runners in the emulator: `{host}-cd-{suffix}`. */
export function ours(host: string, rs: EmulatedRunner[]): EmulatedRunner[] {
  const re = new RegExp(`^${host}-cd-[a-z0-9]{6,}$`);
  return rs.filter((r) => re.test(r.name));
}

export function onlineCount(host: string, rs: EmulatedRunner[]): number {
  return ours(host, rs).filter((r) => r.status === 'online').length;
}

/** Containers carrying this host's ownership label (running or not). */
export async function hostContainers(docker: Dockerode, host: string, running = false): Promise<Dockerode.ContainerInfo[]> {
  const all = await docker.listContainers({ all: true, filters: { label: [`${LABEL_HOST}=${host}`] } });
  return running ? all.filter((c) => c.State === 'running') : all;
}

/** Test cleanup: whatever this host left behind goes, plus named extras. */
export async function removeHostContainers(docker: Dockerode, host: string, extra: string[] = []): Promise<void> {
  const ids = [...(await hostContainers(docker, host).catch(() => [])).map((c) => c.Id), ...extra];
  await Promise.all(ids.map((id) => docker.getContainer(id).remove({ force: true }).catch(() => undefined)));
}

/**
 * Registers the cleanup of a daemon test on Docker: stop the daemon keeping its containers, remove
 * the host's containers, then the daemon's dir. Pass the started fixture through the returned function.
 */
export function cleanupDockerDaemon(t: ExecutionContext, docker: Dockerode, host: string): (started: DaemonFixture) => DaemonFixture {
  let fx: DaemonFixture | undefined;
  t.teardown(async () => {
    await fx?.stop('keep');
    await removeHostContainers(docker, host);
    if (fx) await fs.rm(fx.dir, { recursive: true, force: true });
  });
  return (started) => (fx = started);
}
