import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type yauzl from 'yauzl';
import { FleetError } from '../errors.js';
import { removeStaging } from '../runner/tmp.js';

export type ArchiveKind = 'none' | 'tar.gz' | 'zip';

export function archiveKind(setting: 'auto' | ArchiveKind | undefined, url: string): ArchiveKind {
  if (setting && setting !== 'auto') return setting;
  const p = new URL(url).pathname.toLowerCase();
  if (p.endsWith('.tar.gz') || p.endsWith('.tgz')) return 'tar.gz';
  if (p.endsWith('.zip')) return 'zip';
  return 'none';
}

const norm = (p: string) => path.posix.normalize(p.replace(/^\.\//, '')).replace(/\/$/, '');

/** Pick the member: the exact path, else the only regular file with that base name. */
function choose(names: string[], wanted: string, tool: string): string {
  const w = norm(wanted);
  if (names.includes(w)) return w;
  const byBase = names.filter((n) => path.posix.basename(n) === path.posix.basename(w));
  if (byBase.length === 1 && byBase[0]) return byBase[0];
  throw new FleetError('TOOL_INSTALL', `${tool}: archive has no single "${wanted}" (set tools[].binary)`);
}

/** Extracts one executable from an archive to dest. Nothing else is written. */
export async function extractBinary(kind: Exclude<ArchiveKind, 'none'>, archive: string, wanted: string, dest: string, tool: string): Promise<void> {
  if (kind === 'tar.gz') return extractFromTar(archive, wanted, dest, tool);
  return extractFromZip(archive, wanted, dest, tool);
}

async function extractFromTar(archive: string, wanted: string, dest: string, tool: string): Promise<void> {
  const tar = await import('tar'); // when used: installed tools are rarely re-extracted
  const names: string[] = [];
  await tar.t({ file: archive, onReadEntry: (e) => void (e.type === 'File' && names.push(norm(e.path))) });
  const member = choose(names, wanted, tool);
  const tmp = `${dest}.x`;
  await fs.promises.mkdir(tmp, { recursive: true });
  try {
    // strict: a failed write (ENOSPC) must fail the install, not leave a truncated binary.
    await tar.x({ file: archive, cwd: tmp, preserveOwner: false, strict: true, filter: (p) => norm(p) === member });
    await fs.promises.rename(path.join(tmp, member), dest);
  } finally {
    await removeStaging(tmp);
  }
}

/** yauzl is imported here, for zip tools only: the daemon keeps what it loads (issue 13, footprint). */
async function openZip(file: string): Promise<yauzl.ZipFile> {
  const { default: zip } = await import('yauzl');
  return new Promise((resolve, reject) =>
    zip.open(file, { lazyEntries: true, autoClose: false }, (err, zf) => (err || !zf ? reject(err) : resolve(zf))),
  );
}

async function extractFromZip(archive: string, wanted: string, dest: string, tool: string): Promise<void> {
  const zf = await openZip(archive);
  try {
    const entries = await new Promise<yauzl.Entry[]>((resolve, reject) => {
      const all: yauzl.Entry[] = [];
      zf.on('entry', (e: yauzl.Entry) => {
        if (!e.fileName.endsWith('/')) all.push(e);
        zf.readEntry();
      });
      zf.on('end', () => resolve(all));
      zf.on('error', reject);
      zf.readEntry();
    });
    const member = choose(entries.map((e) => norm(e.fileName)), wanted, tool);
    const entry = entries.find((e) => norm(e.fileName) === member)!;
    const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) =>
      zf.openReadStream(entry, (err, s) => (err || !s ? reject(err) : resolve(s))),
    );
    await pipeline(stream, fs.createWriteStream(dest, { mode: 0o755 }));
  } catch (err) {
    if (err instanceof FleetError) throw err;
    throw new FleetError('TOOL_INSTALL', `${tool}: cannot read zip archive`, { cause: err });
  } finally {
    zf.close();
  }
}
