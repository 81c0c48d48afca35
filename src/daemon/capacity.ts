import { promises as fs } from 'node:fs';
import type { BackendKind, FleetConfig } from '../config/types.js';
import { DEFAULT_CAPACITY } from '../config/types.js';
import type { CapacityFigure } from '../reconcile/capacity.js';

/** Reads the host: free bytes of a directory's file system, available memory. */
export interface HostProbe {
  diskFree(dir: string): Promise<number>;
  memAvailable(): Promise<number>;
}

export const systemProbe: HostProbe = {
  async diskFree(dir) {
    const s = await fs.statfs(dir);
    // bavail: what an unprivileged writer (a job) can still use, not the root reserve.
    return s.bavail * s.bsize;
  },
  async memAvailable() {
    const text = await fs.readFile('/proc/meminfo', 'utf8');
    const kb = /^MemAvailable:\s+(\d+) kB$/m.exec(text)?.[1];
    if (!kb) throw new Error('no MemAvailable in /proc/meminfo');
    return Number(kb) * 1024;
  },
};

/**
 * The figures host.capacity is checked against: the data dir's disk, each extra disk a backend
 * writes to (Docker's data root), and memory. A directory that cannot be measured (a remote
 * Docker engine's data root) is left out rather than blocking every pool.
 */
export async function readCapacity(
  cfg: Pick<FleetConfig, 'host'>,
  extraDisks: { path: string; backend: BackendKind }[],
  probe: HostProbe = systemProbe,
): Promise<CapacityFigure[]> {
  const cap = cfg.host.capacity ?? DEFAULT_CAPACITY;
  const out: CapacityFigure[] = [];
  const disks: { path: string; backend?: BackendKind }[] = [{ path: cfg.host.dataDir }, ...extraDisks];
  for (const d of disks) {
    try {
      out.push({ resource: 'disk', path: d.path, free: await probe.diskFree(d.path), floor: cap.minFreeDisk, ...(d.backend ? { onlyFor: d.backend } : {}) });
    } catch {
      // not measurable from here
    }
  }
  try {
    out.push({ resource: 'memory', path: '', free: await probe.memAvailable(), floor: cap.minFreeMemory });
  } catch {
    // no /proc/meminfo
  }
  return out;
}
