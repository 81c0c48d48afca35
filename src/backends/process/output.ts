import { promises as fs } from 'node:fs';
import type { Logger } from '../../log.js';

const MAX_LINES_PER_TICK = 20;
const MAX_BYTES_PER_TICK = 64 * 1024;

/**
 * Follows each runner's rf-process.log and repeats new lines to the logger, throttled.
 * The runner writes to a FILE (not a pipe to us) so it survives a daemon restart without
 * SIGPIPE; this reads the file instead.
 */
export class OutputEcho {
  private readonly offsets = new Map<string, number>();
  constructor(private readonly logger: Logger) {}

  /** Start following from the current end (history is in the file, not worth replaying). */
  async follow(name: string, file: string): Promise<void> {
    if (this.offsets.has(name)) return;
    this.offsets.set(name, await size(file));
  }

  forget(name: string): void {
    this.offsets.delete(name);
  }

  async pump(name: string, file: string): Promise<void> {
    const from = this.offsets.get(name);
    if (from === undefined) return;
    const end = await size(file);
    if (end <= from) {
      if (end < from) this.offsets.set(name, end); // truncated
      return;
    }
    const len = Math.min(end - from, MAX_BYTES_PER_TICK);
    const buf = Buffer.alloc(len);
    const fh = await fs.open(file, 'r');
    try {
      await fh.read(buf, 0, len, from);
    } finally {
      await fh.close();
    }
    // Only whole lines; a partial last line waits for the next tick (unless the buffer is full).
    const text = buf.toString('utf8');
    const cut = len === MAX_BYTES_PER_TICK ? text.length : text.lastIndexOf('\n') + 1;
    if (cut <= 0) return;
    this.offsets.set(name, from + Buffer.byteLength(text.slice(0, cut)));
    this.emit(name, text.slice(0, cut).split('\n').filter((l) => l.length > 0));
  }

  private emit(name: string, lines: string[]): void {
    const log = this.logger.child({ runner: name, stream: 'runner' });
    for (const line of lines.slice(0, MAX_LINES_PER_TICK)) log.debug(line);
    if (lines.length > MAX_LINES_PER_TICK) log.debug({ skipped: lines.length - MAX_LINES_PER_TICK }, 'runner output throttled');
  }
}

async function size(file: string): Promise<number> {
  try {
    return (await fs.stat(file)).size;
  } catch {
    return 0;
  }
}

/** Last `tail` lines of a file, reading at most 1 MiB from its end. */
export async function tailFile(file: string, tail: number): Promise<string> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
  try {
    const { size: total } = await fh.stat();
    const len = Math.min(total, 1024 * 1024);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, total - len);
    const lines = buf.toString('utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return lines.slice(-Math.max(0, tail)).join('\n') + (lines.length && tail > 0 ? '\n' : '');
  } finally {
    await fh.close();
  }
}
