import { randomBytes } from 'node:crypto';
import type { Store } from '../store/types.js';

/**
 * A host's persistent identity. Runner names say which host a runner belongs to, but names
 * collide (`ci` + pool `gpu-a` vs `ci-gpu` + pool `a`, cloned VMs sharing a host name). The id is
 * created once, kept in the store, and rides on every registration as a label (labels are what
 * GitHub keeps with a runner) and on every container or unit, so ghost cleanup can tell our
 * registrations from another host's that look the same.
 */
const META_KEY = 'host_id';
export const HOST_LABEL_PREFIX = 'rf-host-';

/** The stored id, created on first use. 16 hex digits; the label carries the first 8. */
export function ensureHostId(store: Pick<Store, 'meta'>): string {
  const cur = store.meta.get(META_KEY);
  if (cur && /^[0-9a-f]{16}$/.test(cur)) return cur;
  const id = randomBytes(8).toString('hex');
  store.meta.set(META_KEY, id);
  return id;
}

export function storedHostId(store: Pick<Store, 'meta'>): string | undefined {
  return store.meta.get(META_KEY);
}

/** Visible in GitHub's runner list: carries no secret, only enough to tell hosts apart. */
export function hostLabel(id: string): string {
  return `${HOST_LABEL_PREFIX}${id.slice(0, 8)}`;
}

/** The host label a registration carries: ours, another host's, or none (registered before host ids). */
export function hostOwnership(labels: readonly string[], ours: string): 'ours' | 'other' | 'none' {
  const found = labels.filter((l) => l.toLowerCase().startsWith(HOST_LABEL_PREFIX));
  if (found.length === 0) return 'none';
  return found.some((l) => l.toLowerCase() === ours.toLowerCase()) ? 'ours' : 'other';
}
