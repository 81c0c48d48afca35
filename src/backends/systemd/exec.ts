import { spawn } from 'node:child_process';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The one seam between the systemd backend and the machine it manages. Production runs
 * `systemctl` here; tests run the same argv inside a systemd container (`docker exec`).
 * `input` goes to stdin: secrets travel that way, never through argv.
 */
export type CommandRunner = (argv: string[], opts?: { input?: string; signal?: AbortSignal }) => Promise<CommandResult>;

/** File writes on the managed machine: unit files and 0600 env files. */
export interface HostFiles {
  /** Atomic write (temp file + rename) with the given mode, parent dirs created (0700 for new dirs). */
  write(file: string, content: string, mode: number): Promise<void>;
  /** Removes a file or directory tree; missing is fine. */
  remove(file: string): Promise<void>;
}

export const localRunner: CommandRunner = (argv, opts = {}) =>
  new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    if (!cmd) return reject(new Error('empty argv'));
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      signal: opts.signal,
      // systemctl must never page or ask for a password on a TTY.
      env: { ...process.env, SYSTEMD_PAGER: '', SYSTEMD_COLORS: '0', LC_ALL: 'C' },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, sig) =>
      resolve({
        code: code ?? (sig ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });

export const localFiles: HostFiles = {
  async write(file, content, mode) {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    // Created with the final mode, so a secret is never briefly world-readable.
    await writeFile(tmp, content, { mode });
    await chmod(tmp, mode);
    await rename(tmp, file);
  },
  async remove(file) {
    await rm(file, { force: true, recursive: true });
  },
};

/**
 * File writes through a CommandRunner (sh + cat, content on stdin): lets tests write into a
 * container with the very runner the backend already uses.
 */
export function runnerFiles(run: CommandRunner): HostFiles {
  const check = (what: string, r: CommandResult) => {
    if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stderr.trim()}`);
  };
  return {
    async write(file, content, mode) {
      const script =
        'set -e; umask 077; mkdir -p "$(dirname "$1")"; t="$1.$$.tmp"; cat > "$t"; chmod "$2" "$t"; mv -f "$t" "$1"';
      check(`write ${file}`, await run(['sh', '-c', script, 'sh', file, mode.toString(8)], { input: content }));
    },
    async remove(file) {
      check(`remove ${file}`, await run(['rm', '-rf', '--', file]));
    },
  };
}
