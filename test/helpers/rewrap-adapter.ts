/**
 * An in-memory RewrapAdapter for tests of rewrapRows: rows in a Map kept in id order, with
 * the same compare-and-swap contract as the SQL adapters, and a hook that runs before each
 * write batch (to play an application that changes rows while the rewrap runs).
 */
import type { RewrapAdapter, RowId } from '../../src/core/envelope/rewrap.js';

export interface MemoryAdapter extends RewrapAdapter {
  rows: Map<number, unknown>;
  writes: number;
}

export function memoryAdapter(
  initial: Array<{ id: number; value: unknown }>,
  beforeWrite?: (rows: Map<number, unknown>) => void,
): MemoryAdapter {
  const rows = new Map<number, unknown>(
    [...initial].sort((a, b) => a.id - b.id).map((r) => [r.id, r.value]),
  );
  const adapter: MemoryAdapter = {
    rows,
    writes: 0,
    count: async () => rows.size,
    readBatch: async (after: RowId | undefined, limit: number) =>
      [...rows]
        .filter(([id]) => after === undefined || id > Number(after))
        .sort(([a], [b]) => a - b)
        .slice(0, limit)
        .map(([id, value]) => ({ id, value })),
    readRow: async (id: RowId) =>
      rows.has(Number(id)) ? { id: Number(id), value: rows.get(Number(id)) } : undefined,
    writeBatch: async (updates) => {
      beforeWrite?.(rows);
      adapter.writes++;
      const conflicts: RowId[] = [];
      for (const u of updates) {
        if (rows.get(Number(u.id)) === u.expected) rows.set(Number(u.id), u.value);
        else conflicts.push(u.id);
      }
      return conflicts;
    },
  };
  return adapter;
}
