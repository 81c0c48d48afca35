import type { BackendKind, HostCapacityConfig, PoolConfig } from '../config/types.js';

/** One free-space reading against its host.capacity floor. */
export interface CapacityFigure {
  resource: 'disk' | 'memory';
  /** The directory measured (disk); '' for memory. */
  path: string;
  free: number;
  floor: number;
  /** Set when the figure concerns only one backend's runners (Docker's data root). */
  onlyFor?: BackendKind;
}

/** What a pool is short of, or undefined when every floor that concerns it is met. Pure. */
export function capacityShortfall(figures: readonly CapacityFigure[], kind: BackendKind): string | undefined {
  const short = figures.filter((f) => f.floor > 0 && f.free < f.floor && (f.onlyFor === undefined || f.onlyFor === kind));
  if (!short.length) return undefined;
  return short
    .map((f) =>
      f.resource === 'disk'
        ? `free disk ${bytes(f.free)} on ${f.path} is below host.capacity.minFreeDisk ${bytes(f.floor)}`
        : `available memory ${bytes(f.free)} is below host.capacity.minFreeMemory ${bytes(f.floor)}`,
    )
    .join('; ');
}

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 10 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/** The CPU limit one runner of the pool gets from its backend (limits.cpus, else docker.cpus). None: undefined. */
export function runnerCpus(p: PoolConfig): number | undefined {
  return p.cpusPerRunner ?? p.limits?.cpus;
}

/** host.capacity.cpus resolved on this host (`auto`: its CPU count); undefined when there is no budget. */
export function cpuBudget(cap: Pick<HostCapacityConfig, 'cpus'> | undefined, hostCpus: number): number | undefined {
  const c = cap?.cpus;
  return c === 'auto' ? hostCpus : c;
}

/** CPUs are added up in thousandths, so 0.1 + 0.2 fits a budget of 0.3. */
export const milli = (cpus: number): number => Math.round(cpus * 1000);

/** Sum of the CPU limits of runners that hold a backend resource. A pool without a limit adds 0. */
export function cpusAllocated(runners: readonly { pool: string }[], cpusOf: (pool: string) => number | undefined): number {
  return runners.reduce((sum, r) => sum + milli(cpusOf(r.pool) ?? 0), 0) / 1000;
}

/** Why a pool that wants more runners cannot start them all: the figure, for status and logs. */
export function cpuShortfall(allocated: number, budget: number, perRunner: number, wanted: number, started: number): string {
  return `CPU budget: ${allocated} of host.capacity.cpus ${budget} allocated to runners; ${wanted - started} more runner(s) of this pool need ${perRunner} each`;
}
