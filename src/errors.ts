/** Every error the daemon raises carries a stable code; messages are for humans, codes for code and tests. */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_NOT_FOUND'
  | 'STORE_NEWER_SCHEMA'
  | 'STORE_FAILED'
  | 'GITHUB_AUTH'
  | 'GITHUB_NOT_FOUND'
  | 'GITHUB_CONFLICT'
  | 'GITHUB_RATE_LIMITED'
  | 'GITHUB_REQUEST'
  | 'SCALESET_QUEUE_EXPIRED'
  | 'SCALESET_BAD_MESSAGE'
  | 'SCALESET_POLL_STALLED'
  | 'PUBLIC_REPO_REFUSED'
  | 'CHECKSUM_MISMATCH'
  | 'DOWNLOAD_FAILED'
  | 'VERSION_UNKNOWN'
  | 'RUNNER_PREPARE'
  | 'RUNNER_START_FAILED'
  | 'DISK_FULL'
  | 'DATA_DIR_UNSAFE'
  | 'BACKEND_UNAVAILABLE'
  | 'BACKEND_FAILED'
  | 'IMAGE_MISSING'
  | 'TOOL_INSTALL'
  | 'TOOL_TAMPERED'
  | 'RUNNER_TAMPERED'
  | 'DAEMON_UNREACHABLE'
  | 'DATA_DIR_LOCKED'
  | 'RUNNER_NOT_FOUND'
  | 'NOT_IMPLEMENTED'
  /** A control route called on TCP without api.token (CONTRACT §7): use the control socket. */
  | 'API_FORBIDDEN'
  /** A file in a runner root (job-writable) that is not a small regular file: that runner is replaced. */
  | 'RUNNER_FILE_REFUSED'
  /** JIT runners would run as root without RUNNER_ALLOW_RUNASROOT in the pool's env (contract §6). */
  | 'RUNNER_AS_ROOT'
  /** A host.capacity floor is not met: the pool starts no new runner until it is. */
  | 'HOST_CAPACITY'
  | 'USAGE';

export class FleetError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FleetError';
    this.code = code;
  }
}

export function isFleetError(err: unknown, code?: ErrorCode): err is FleetError {
  return err instanceof FleetError && (code === undefined || err.code === code);
}

/** A short, single-line description of any thrown value, with its cause chain. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 5; depth++) {
    if (cur instanceof Error) {
      parts.push(cur instanceof FleetError ? `${cur.code}: ${cur.message}` : cur.message);
      cur = (cur as Error & { cause?: unknown }).cause;
    } else {
      parts.push(String(cur));
      break;
    }
  }
  return parts.join(' <- ');
}

/** The errno code (ENOSPC, EIO...) anywhere in a cause chain. */
export function errnoOf(err: unknown): string | undefined {
  let cur: unknown = err;
  for (let depth = 0; cur && depth < 8; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** A write that failed for lack of space (or quota) is DISK_FULL, whatever wrapped it. */
export function diskFullError(err: unknown, what: string): FleetError | undefined {
  const errno = errnoOf(err);
  if (errno !== 'ENOSPC' && errno !== 'EDQUOT') return undefined;
  return new FleetError('DISK_FULL', `${what}: no space left on the device (${errno})`, { cause: err });
}
