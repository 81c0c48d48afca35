import type { BackendKind } from '../config/types.js';

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
