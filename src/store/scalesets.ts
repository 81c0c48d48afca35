import type { Database } from 'better-sqlite3';
import type { Clock } from '../clock.js';
import type { Store, StoredScaleSet } from './types.js';

export function scaleSetsRepo(db: Database, clock: Clock): Store['scaleSets'] {
  type Row = {
    pool: string; scope_key: string; name: string; scale_set_id: number; runner_group_id: number;
    last_message_id: number; statistics: string; updated_at: number;
  };
  const map = (r: Row): StoredScaleSet => ({
    pool: r.pool, scopeKey: r.scope_key, name: r.name, scaleSetId: r.scale_set_id, runnerGroupId: r.runner_group_id,
    lastMessageId: r.last_message_id, statistics: parseStats(r.statistics), updatedAt: r.updated_at,
  });
  const get = db.prepare<[string], Row>('SELECT * FROM scale_sets WHERE pool = ?');
  return {
    get(pool) {
      const r = get.get(pool);
      return r ? map(r) : undefined;
    },
    put(s) {
      // A new scale set id (recreated after GitHub deleted it) starts its message ids afresh.
      db.prepare(
        `INSERT INTO scale_sets (pool, scope_key, name, scale_set_id, runner_group_id, last_message_id, statistics, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (pool) DO UPDATE SET scope_key = excluded.scope_key, name = excluded.name,
           runner_group_id = excluded.runner_group_id, updated_at = excluded.updated_at,
           last_message_id = CASE WHEN scale_sets.scale_set_id = excluded.scale_set_id THEN scale_sets.last_message_id ELSE excluded.last_message_id END,
           statistics = CASE WHEN scale_sets.scale_set_id = excluded.scale_set_id THEN scale_sets.statistics ELSE excluded.statistics END,
           scale_set_id = excluded.scale_set_id`,
      ).run(s.pool, s.scopeKey, s.name, s.scaleSetId, s.runnerGroupId, s.lastMessageId, JSON.stringify(s.statistics), clock.now());
    },
    update(pool, patch) {
      const cur = get.get(pool);
      if (!cur) return;
      db.prepare('UPDATE scale_sets SET last_message_id = ?, statistics = ?, updated_at = ? WHERE pool = ?').run(
        patch.lastMessageId ?? cur.last_message_id,
        patch.statistics ? JSON.stringify(patch.statistics) : cur.statistics,
        clock.now(),
        pool,
      );
    },
    list() {
      return db.prepare<[], Row>('SELECT * FROM scale_sets ORDER BY pool').all().map(map);
    },
    remove(pool) {
      db.prepare('DELETE FROM scale_sets WHERE pool = ?').run(pool);
    },
  };
}

function parseStats(text: string): Record<string, number> {
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(o).filter(([, v]) => typeof v === 'number')) as Record<string, number>;
  } catch {
    return {};
  }
}
