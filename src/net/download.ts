import crypto from 'node:crypto';
import fs from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { FleetError, diskFullError } from '../errors.js';

export interface Progress {
  /** What is being fetched (runner version, tool name). */
  label: string;
  received: number;
  /** From Content-Length; null when the server did not say. */
  total: number | null;
}

export interface DownloadOptions {
  url: string;
  dest: string;
  fetch: typeof fetch;
  /** Expected hex SHA-256; on mismatch dest is removed and CHECKSUM_MISMATCH thrown. */
  sha256?: string;
  headers?: Record<string, string>;
  label?: string;
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
}

/**
 * Streams url into dest and hashes in the same pass (docs/runner-facts.md §6.10: verify while streaming,
 * refuse on mismatch). The file is created 0600 and never left behind on failure.
 */
export async function downloadVerified(opts: DownloadOptions): Promise<{ sha256: string; bytes: number }> {
  const label = opts.label ?? opts.url;
  let res: Response;
  try {
    const init: RequestInit = { redirect: 'follow' };
    if (opts.headers) init.headers = opts.headers;
    if (opts.signal) init.signal = opts.signal;
    res = await opts.fetch(opts.url, init);
  } catch (err) {
    throw new FleetError('DOWNLOAD_FAILED', `GET ${redactUrl(opts.url)} failed`, { cause: err });
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    throw new FleetError('DOWNLOAD_FAILED', `GET ${redactUrl(opts.url)} answered ${res.status}`);
  }
  const lenHeader = res.headers.get('content-length');
  const total = lenHeader ? Number(lenHeader) : null;
  const hash = crypto.createHash('sha256');
  let received = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      received += chunk.length;
      opts.onProgress?.({ label, received, total });
      cb(null, chunk);
    },
  });
  try {
    const body = Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>);
    await pipeline(body, meter, fs.createWriteStream(opts.dest, { mode: 0o600 }));
  } catch (err) {
    await fs.promises.rm(opts.dest, { force: true });
    throw diskFullError(err, label) ?? new FleetError('DOWNLOAD_FAILED', `GET ${redactUrl(opts.url)} broke off`, { cause: err });
  }
  const sha256 = hash.digest('hex');
  if (opts.sha256 && sha256 !== opts.sha256.toLowerCase()) {
    await fs.promises.rm(opts.dest, { force: true });
    throw new FleetError(
      'CHECKSUM_MISMATCH',
      `${label}: SHA-256 of ${redactUrl(opts.url)} is ${sha256}, expected ${opts.sha256.toLowerCase()}; refused`,
    );
  }
  return { sha256, bytes: received };
}

/** Hash a file on disk (tamper checks). */
export async function sha256File(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest('hex');
}

/** Query strings may carry download tokens; never print them. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.search) u.search = '?…';
    if (u.password) u.password = '…';
    return u.toString();
  } catch {
    return url;
  }
}
