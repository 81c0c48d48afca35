import v8 from 'node:v8';

/**
 * Process-wide settings for the long-lived daemon's memory, applied before its first request.
 *
 * Node's fetch (Octokit's transport) parses HTTP with llhttp compiled to WebAssembly. After a
 * few hundred requests V8 tiers its hot functions up to TurboFan, whose compilation zones peak
 * at ~32 MB of malloc (measured: `v8.getHeapStatistics().peak_malloced_memory` after 200
 * fetches, 32 MB default, 2.6 MB Liftoff-only); glibc keeps much of it, so the idle daemon's
 * RSS stayed up to ~25 MB higher in some runs. Liftoff (the baseline compiler) parses a GitHub
 * response as fast as the daemon needs. Node refuses V8 flags in NODE_OPTIONS, so the daemon
 * sets it itself; it only affects WebAssembly compiled afterwards.
 */
export function leanDaemonFlags(): void {
  v8.setFlagsFromString('--liftoff-only');
}
