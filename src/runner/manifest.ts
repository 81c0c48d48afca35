import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { FleetError } from '../errors.js';

/**
 * What a verified runner version looked like when it was extracted: every entry's kind and mode,
 * a sha256 per file and each symlink's target. Written next to the version dir (not inside it,
 * so no runner ever sees or mounts it), read-only, by the daemon's user.
 */
export interface CacheManifest {
  version: string;
  entries: Record<string, ManifestEntry>;
}

export type ManifestEntry =
  | { kind: 'file'; mode: number; sha256: string }
  | { kind: 'dir'; mode: number }
  | { kind: 'link'; target: string };

export function manifestPath(cacheDir: string): string {
  return `${cacheDir}.manifest.json`;
}

async function hashFile(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  // O_NOFOLLOW: lstat said file; a swap to a symlink in between must not be followed.
  const fh = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    for await (const chunk of fh.createReadStream({ autoClose: false })) h.update(chunk as Buffer);
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}

/** Walks a cache dir without following links. Anything but files, dirs and links is refused. */
export async function scanCacheDir(dir: string): Promise<Record<string, ManifestEntry>> {
  const out: Record<string, ManifestEntry> = {};
  const walk = async (rel: string): Promise<void> => {
    const names = (await fs.promises.readdir(path.join(dir, rel))).sort();
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      const p = path.join(dir, r);
      const st = await fs.promises.lstat(p);
      if (st.isSymbolicLink()) out[r] = { kind: 'link', target: await fs.promises.readlink(p) };
      else if (st.isDirectory()) {
        out[r] = { kind: 'dir', mode: st.mode & 0o7777 };
        await walk(r);
      } else if (st.isFile()) out[r] = { kind: 'file', mode: st.mode & 0o7777, sha256: await hashFile(p) };
      else throw new FleetError('RUNNER_TAMPERED', `runner cache holds a special file: ${p}`);
    }
  };
  await walk('');
  return out;
}

/**
 * Makes an extracted version read-only for everyone (files lose every write bit, no set-id bits
 * survive) and records its manifest. Directories stay 0755 so the daemon can still quarantine or
 * remove the version; they belong to the daemon's user, so no job user can add to them.
 */
export async function sealCacheDir(dir: string, version: string): Promise<CacheManifest> {
  const walk = async (d: string): Promise<void> => {
    for (const e of await fs.promises.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        await fs.promises.chmod(p, 0o755);
        await walk(p);
      } else if (e.isFile()) {
        const mode = (await fs.promises.lstat(p)).mode;
        await fs.promises.chmod(p, mode & 0o111 ? 0o555 : 0o444);
      }
    }
  };
  await fs.promises.chmod(dir, 0o755);
  await walk(dir);
  const manifest: CacheManifest = { version, entries: await scanCacheDir(dir) };
  const file = manifestPath(dir);
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.promises.rm(tmp, { force: true });
  await fs.promises.writeFile(tmp, JSON.stringify(manifest), { mode: 0o444 });
  await fs.promises.rename(tmp, file);
  return manifest;
}

export type ManifestCheck = { ok: true } | { ok: false; reason: string };

/** Compares a cache dir with its manifest: same entries, kinds, modes, hashes and link targets. */
export async function checkCacheDir(dir: string): Promise<ManifestCheck> {
  let manifest: CacheManifest;
  try {
    manifest = JSON.parse(await fs.promises.readFile(manifestPath(dir), 'utf8')) as CacheManifest;
  } catch {
    return { ok: false, reason: 'no readable manifest' };
  }
  let actual: Record<string, ManifestEntry>;
  try {
    actual = await scanCacheDir(dir);
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  const want = manifest.entries ?? {};
  for (const [rel, w] of Object.entries(want)) {
    const a = actual[rel];
    if (!a) return { ok: false, reason: `${rel} is missing` };
    if (JSON.stringify(a) !== JSON.stringify(w)) return { ok: false, reason: `${rel} changed` };
  }
  for (const rel of Object.keys(actual)) if (!(rel in want)) return { ok: false, reason: `${rel} was added` };
  return { ok: true };
}
