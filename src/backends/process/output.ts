import { constants as fsc, promises as fs } from 'node:fs';
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

  /**
   * Start following at `from` (a runner we just spawned: its first line on) or else at the
   * current end (an adopted runner: its history is in the file, not worth replaying).
   */
  async follow(name: string, file: string, from?: number): Promise<void> {
    if (this.offsets.has(name)) return;
    if (from !== undefined) {
      this.offsets.set(name, from);
      return;
    }
    const end = await size(file);
    if (!this.offsets.has(name)) this.offsets.set(name, end);
  }

  forget(name: string): void {
    this.offsets.delete(name);
  }

  async pump(name: string, file: string): Promise<void> {
    const from = this.offsets.get(name);
    if (from === undefined) return;
    const fh = await openLog(file);
    if (!fh) return;
    const buf = Buffer.alloc(MAX_BYTES_PER_TICK);
    let len = 0;
    try {
      const end = (await fh.stat()).size;
      if (end <= from) {
        if (end < from) this.offsets.set(name, end); // truncated
        return;
      }
      len = (await fh.read(buf, 0, Math.min(end - from, MAX_BYTES_PER_TICK), from)).bytesRead;
    } finally {
      await fh.close();
    }
    if (len === 0) return;
    // Only whole lines; a partial last line waits for the next tick (unless the buffer is full).
    const text = buf.subarray(0, len).toString('utf8');
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
  const fh = await openLog(file);
  if (!fh) return 0;
  try {
    return (await fh.stat()).size;
  } finally {
    await fh.close();
  }
}

/**
 * The log lives in the runner root, the job's to replace (CONTRACT §6): a link (to /etc/shadow,
 * /dev/zero) is not followed, a FIFO does not block, and only a regular file is read.
 */
async function openLog(file: string): Promise<fs.FileHandle | undefined> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(file, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK | fsc.O_NOCTTY);
  } catch {
    return undefined;
  }
  if ((await fh.stat().catch(() => undefined))?.isFile()) return fh;
  await fh.close();
  return undefined;
}

/** Last `tail` lines of a file, reading at most 1 MiB from its end. */
export async function tailFile(file: string, tail: number): Promise<string> {
  const fh = await openLog(file);
  if (!fh) return '';
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
