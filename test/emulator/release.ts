/**
 * Fake runner releases: one tarball per version and arch, built from ./fake-runner at start,
 * served at GitHub's release download path with its sha256.
 */
import { createHash } from 'node:crypto';
import { chmod, cp, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { create as tarCreate } from 'tar';

export const FAKE_RUNNER_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fake-runner');
export const ARCHES = ['x64', 'arm64'] as const;

export interface Asset { arch: string; filename: string; sha256: string; urlPath: string; filePath: string }

/** Files the emulator serves verbatim: URL path → bytes or a file on disk. */
export class FileStore {
  private readonly files = new Map<string, Buffer | { filePath: string }>();
  set(urlPath: string, content: Buffer | { filePath: string }): void {
    this.files.set(urlPath, content);
  }
  has(urlPath: string): boolean {
    return this.files.has(urlPath);
  }
  async get(urlPath: string): Promise<Buffer | undefined> {
    const f = this.files.get(urlPath);
    if (!f) return undefined;
    return Buffer.isBuffer(f) ? f : readFile(f.filePath);
  }
}

const semverCmp = (a: string, b: string): number => {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
};

export class Releases {
  private readonly assets = new Map<string, Asset[]>();
  constructor(private readonly files: FileStore, private readonly workDir: string, private readonly webUrl: () => string) {}

  versions(): string[] {
    return [...this.assets.keys()].sort(semverCmp);
  }

  latest(): string {
    const v = this.versions();
    return v[v.length - 1]!;
  }

  get(version: string, arch = 'x64'): Asset | undefined {
    return this.assets.get(version)?.find((a) => a.arch === arch);
  }

  url(a: Asset): string {
    return this.webUrl() + a.urlPath;
  }

  async build(version: string): Promise<void> {
    if (this.assets.has(version)) return;
    const stage = path.join(this.workDir, `stage-${version}`);
    await cp(FAKE_RUNNER_DIR, stage, { recursive: true });
    await writeFile(path.join(stage, 'bin', 'runner-version'), `${version}\n`);
    await makeExecutable(stage);
    const list: Asset[] = [];
    for (const arch of ARCHES) {
      const filename = `actions-runner-linux-${arch}-${version}.tar.gz`;
      const filePath = path.join(this.workDir, filename);
      await writeFile(path.join(stage, 'bin', 'runner-arch'), `${arch}\n`);
      await tarCreate({ gzip: true, file: filePath, cwd: stage, portable: true }, await readdir(stage));
      const sha256 = createHash('sha256').update(await readFile(filePath)).digest('hex');
      const urlPath = `/actions/runner/releases/download/v${version}/${filename}`;
      this.files.set(urlPath, { filePath });
      list.push({ arch, filename, sha256, urlPath, filePath });
    }
    this.assets.set(version, list);
  }

  /** `GET {scope}/actions/runners/downloads` */
  downloads(version: string): Record<string, unknown>[] {
    return (this.assets.get(version) ?? []).map((a) => ({
      os: 'linux', architecture: a.arch, download_url: this.url(a), filename: a.filename, sha256_checksum: a.sha256,
    }));
  }

  /** `GET /repos/actions/runner/releases/latest`, with the SHA markers the real release body carries. */
  releaseJson(version: string): Record<string, unknown> {
    const assets = this.assets.get(version) ?? [];
    const body = assets.map((a) => `- ${a.filename} <!-- BEGIN SHA linux-${a.arch} -->${a.sha256}<!-- END SHA linux-${a.arch} -->`).join('\n');
    return {
      tag_name: `v${version}`, name: `v${version}`, draft: false, prerelease: false, body,
      html_url: `${this.webUrl()}/actions/runner/releases/tag/v${version}`,
      assets: assets.map((a, i) => ({ id: i + 1, name: a.filename, browser_download_url: this.url(a), digest: `sha256:${a.sha256}`, content_type: 'application/gzip' })),
    };
  }
}

/** Shell scripts, the Listener and the node wrapper must be executable in the tarball. */
async function makeExecutable(dir: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const p = path.join(e.parentPath ?? (e as any).path, e.name);
    if (/\.sh$|Runner\.Listener$|\/node$/.test(p)) await chmod(p, 0o755);
  }
}

export async function ensureDir(p: string): Promise<string> {
  await mkdir(p, { recursive: true });
  return p;
}
