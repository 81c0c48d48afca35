import fs from 'node:fs';
import path from 'node:path';
import type Dockerode from 'dockerode';
import * as tar from 'tar';
import { FleetError } from '../../errors.js';

/** The numeric identity a container runs as; root when the image says nothing. */
export interface ContainerIds {
  uid: number;
  gid: number;
}

const statusOf = (err: unknown) => (err as { statusCode?: number } | null)?.statusCode;
const NUMERIC = /^\d+$/;

/**
 * Who a container of `image` runs as: `user` (docker.user) if given, else the image's own USER
 * (the official runner image: `runner`, uid 1001). Names resolve through the image's
 * /etc/passwd and /etc/group, as the engine itself does, so the daemon can hand the runner root
 * to that uid before the container starts. Cached per image id.
 */
export function imageUserResolver(docker: Dockerode): (image: string, user?: string) => Promise<ContainerIds> {
  const cache = new Map<string, ContainerIds>();
  return async (image, user) => {
    let info: Dockerode.ImageInspectInfo;
    try {
      info = await docker.getImage(image).inspect();
    } catch (err) {
      if (statusOf(err) === 404) throw new FleetError('IMAGE_MISSING', `image ${image} is not present`, { cause: err });
      throw new FleetError('BACKEND_UNAVAILABLE', `inspecting image ${image}`, { cause: err });
    }
    const spec = (user ?? info.Config?.User ?? '').trim();
    const key = `${info.Id}\u0000${spec}`;
    const hit = cache.get(key);
    if (hit) return hit;
    const ids = await resolve(docker, image, spec);
    cache.set(key, ids);
    return ids;
  };
}

async function resolve(docker: Dockerode, image: string, spec: string): Promise<ContainerIds> {
  if (spec === '' || spec === 'root' || spec === '0') return { uid: 0, gid: 0 };
  const [u = '', g] = spec.split(':', 2);
  if (NUMERIC.test(u) && (g === undefined || NUMERIC.test(g))) {
    const uid = Number(u);
    if (g !== undefined) return { uid, gid: Number(g) };
    // A uid with no passwd entry runs with gid 0, as the engine does.
    const files = await readImageFiles(docker, image);
    return { uid, gid: parsePasswd(files.passwd).find((e) => e.uid === uid)?.gid ?? 0 };
  }
  const files = await readImageFiles(docker, image);
  const entry = NUMERIC.test(u) ? parsePasswd(files.passwd).find((e) => e.uid === Number(u)) : parsePasswd(files.passwd).find((e) => e.name === u);
  if (!entry) {
    throw new FleetError('BACKEND_FAILED', `image ${image} runs as "${spec}", which its /etc/passwd does not define; set docker.user to a uid[:gid]`);
  }
  if (g === undefined) return { uid: entry.uid, gid: entry.gid };
  if (NUMERIC.test(g)) return { uid: entry.uid, gid: Number(g) };
  const group = parseGroup(files.group).find((e) => e.name === g);
  if (!group) throw new FleetError('BACKEND_FAILED', `image ${image}: group "${g}" is not in its /etc/group`);
  return { uid: entry.uid, gid: group.gid };
}

/**
 * /etc/passwd and /etc/group of an image, read from a container that is created but never
 * started (`docker cp` without running anything the image ships).
 */
async function readImageFiles(docker: Dockerode, image: string): Promise<{ passwd: string; group: string }> {
  const c = await docker.createContainer({ Image: image, Cmd: ['true'], Entrypoint: [], Labels: { 'io.runner-fleet.probe': 'image-user' } });
  try {
    return { passwd: await readFile(c, '/etc/passwd'), group: await readFile(c, '/etc/group') };
  } finally {
    await c.remove({ force: true }).catch(() => undefined);
  }
}

async function readFile(c: Dockerode.Container, file: string): Promise<string> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = await c.getArchive({ path: file });
  } catch (err) {
    if (statusOf(err) === 404) return '';
    throw err;
  }
  const chunks: Buffer[] = [];
  const parser = new tar.Parser({
    onReadEntry: (entry) => {
      if (path.posix.basename(entry.path) !== path.posix.basename(file)) return void entry.resume();
      entry.on('data', (d: Buffer) => chunks.push(d));
    },
  });
  await new Promise<void>((resolve, reject) => {
    stream.on('error', reject);
    parser.on('error', reject);
    parser.on('end', () => resolve());
    stream.pipe(parser as unknown as NodeJS.WritableStream);
  });
  return Buffer.concat(chunks).toString('utf8').slice(0, 1 << 20);
}

interface Entry {
  name: string;
  uid: number;
  gid: number;
}

export function parsePasswd(text: string): Entry[] {
  return text.split('\n').flatMap((line) => {
    const f = line.split(':');
    return f.length >= 4 && NUMERIC.test(f[2] ?? '') && NUMERIC.test(f[3] ?? '') ? [{ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]) }] : [];
  });
}

function parseGroup(text: string): { name: string; gid: number }[] {
  return text.split('\n').flatMap((line) => {
    const f = line.split(':');
    return f.length >= 3 && NUMERIC.test(f[2] ?? '') ? [{ name: f[0]!, gid: Number(f[2]) }] : [];
  });
}

/**
 * Hands the runner root to the container's user (the Listener writes .runner, _diag, _work).
 * Files with more than one link are hard links into the verified cache: chowning them would hand
 * the cache to the job user, so they stay root's (0755 is enough to run). Symlinks are never
 * followed.
 */
export function chownRunnerRoot(root: string, ids: ContainerIds): void {
  fs.lchownSync(root, ids.uid, ids.gid);
  for (const e of fs.readdirSync(root, { recursive: true }) as string[]) {
    const p = path.join(root, e);
    const s = fs.lstatSync(p);
    if (s.isFile() && s.nlink > 1) continue;
    fs.lchownSync(p, ids.uid, ids.gid);
  }
}

/**
 * The same hand-over for a daemon that is not root (the shipped unit's dedicated user, in the
 * docker group): the engine, which is root, does the chown in a short-lived container of the
 * pool's own image with only the runner root mounted. Hard links into the cache stay root's.
 */
export async function chownViaEngine(docker: Dockerode, image: string, root: string, ids: ContainerIds): Promise<void> {
  const c = await docker.createContainer({
    Image: image,
    User: '0:0',
    Entrypoint: ['find'],
    Cmd: [root, '-not', '(', '-type', 'f', '-links', '+1', ')', '-exec', 'chown', '-h', `${ids.uid}:${ids.gid}`, '{}', '+'],
    Labels: { 'io.runner-fleet.probe': 'chown' },
    HostConfig: { Mounts: [{ Type: 'bind', Source: root, Target: root, ReadOnly: false }], NetworkMode: 'none' },
  });
  try {
    await c.start();
    const { StatusCode } = (await c.wait()) as { StatusCode: number };
    if (StatusCode !== 0) {
      throw new FleetError('BACKEND_FAILED', `could not hand ${root} to uid ${ids.uid} (find/chown in ${image} exited ${StatusCode}); set docker.user to the daemon's uid or run the daemon as root`);
    }
  } finally {
    await c.remove({ force: true }).catch(() => undefined);
  }
}
