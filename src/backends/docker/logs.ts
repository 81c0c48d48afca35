/**
 * Docker multiplexes stdout and stderr of a non-TTY container into frames:
 * [stream type, 0, 0, 0, size (u32 BE)] + payload. Frames are kept in order, so the
 * result reads like the terminal would have shown it.
 */
export function demuxLogs(buf: Buffer): string {
  const parts: Buffer[] = [];
  let off = 0;
  while (off + 8 <= buf.length) {
    const type = buf[off];
    const size = buf.readUInt32BE(off + 4);
    if (type === undefined || type > 2 || buf[off + 1] !== 0) {
      // Not a frame header: the engine sent raw output (TTY or a driver without framing).
      return buf.toString('utf8');
    }
    parts.push(buf.subarray(off + 8, off + 8 + size));
    off += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}
