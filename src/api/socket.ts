import { promises as fs } from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';

/** The CLI's way in: `{dataDir}/control.sock`, 0600, the daemon's user (and root). */
export const CONTROL_SOCKET = 'control.sock';
/** sun_path is 108 bytes with its NUL; a longer path would be truncated or refused by bind(). */
export const SOCKET_PATH_MAX = 107;

export function controlSocketPath(dataDir: string): string {
  return path.join(dataDir, CONTROL_SOCKET);
}

/**
 * Binds `server` to a unix socket at `file` that nobody but our uid (and root) can ever connect
 * to. bind() creates the socket with the process umask, and the data dir may be 0711 (others
 * traverse it): so the socket is bound inside a fresh 0700 directory, chmod'ed 0600 there, and
 * only then renamed into place (which also replaces a stale socket a crashed daemon left).
 */
export async function listenUnix(server: Server, file: string): Promise<void> {
  if (Buffer.byteLength(file) > SOCKET_PATH_MAX) throw new Error(`control socket path ${file} is longer than ${SOCKET_PATH_MAX} bytes`);
  const dir = await fs.mkdtemp(path.join(path.dirname(file), '.control-'));
  try {
    await fs.chmod(dir, 0o700);
    const tmp = path.join(dir, 's');
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(tmp, () => {
        server.off('error', reject);
        resolve();
      });
    });
    await fs.chmod(tmp, 0o600);
    await fs.rename(tmp, file);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
