/**
 * `RewrapAdapter`s for one column of one SQL table, over a connection the caller opened:
 * better-sqlite3 (`sqliteRewrapAdapter`) and node-postgres (`postgresRewrapAdapter`). Only the
 * few driver methods used are described here, as local interfaces, so coffer/envelope never
 * loads either driver (kysely's dialect configs do the same).
 *
 * Both page by the id column (`WHERE id > ? ORDER BY id LIMIT n`, which an index or primary
 * key on it makes cheap) and write each batch in one transaction with a compare-and-swap
 * (`UPDATE ... WHERE id = ? AND column = <the value read>`), so rows the application changed
 * meanwhile are reported as conflicts and never overwritten. PostgreSQL JSON/JSONB columns
 * work too: values are read and compared as text and cast back on write.
 *
 * Table and column names are checked against a strict identifier grammar and quoted; values
 * only ever travel as bound parameters.
 */
import { CofferError } from '../errors.js';
import type { RewrapAdapter, RewrapRow, RowId } from './rewrap.js';

/** Which column of which table holds the envelopes, and its row id column. */
export interface ColumnRef {
  /** `table` or `schema.table`. */
  table: string;
  column: string;
  idColumn: string;
}

/** The part of a better-sqlite3 `Database` used here. */
export interface SqliteDatabaseLike {
  prepare(sql: string): SqliteStatementLike;
  exec(sql: string): unknown;
}

export interface SqliteStatementLike {
  all(...params: unknown[]): unknown[];
  get(...params: unknown[]): unknown;
  run(...params: unknown[]): { changes: number };
  safeIntegers?(on?: boolean): unknown;
}

/** The part of a node-postgres `Client` (or a pool's client) used here. */
export interface PgClientLike {
  query(text: string, values?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

/** `"name"` or `"schema"."name"`; INVALID_ARGUMENT for anything but plain identifiers. */
export function quoteIdentifier(name: string, what: string, allowSchema = false): string {
  const parts = typeof name === 'string' ? name.split('.') : [];
  const ok = parts.length >= 1 && parts.length <= (allowSchema ? 2 : 1);
  if (!ok || !parts.every((p) => IDENTIFIER.test(p))) {
    throw new CofferError(
      'INVALID_ARGUMENT',
      `the ${what} name must be a plain SQL identifier (letters, digits, _ and $)${allowSchema ? ', optionally schema.table' : ''}`,
    );
  }
  return parts.map((p) => `"${p}"`).join('.');
}

function quoted(ref: ColumnRef): { t: string; c: string; id: string } {
  return {
    t: quoteIdentifier(ref.table, 'table', true),
    c: quoteIdentifier(ref.column, 'column'),
    id: quoteIdentifier(ref.idColumn, 'id column'),
  };
}

function missing(ref: ColumnRef, what: string): CofferError {
  return new CofferError(
    'INVALID_ARGUMENT',
    `${what} not found: table ${ref.table}, column ${ref.column}, id column ${ref.idColumn}`,
  );
}

/** A RewrapAdapter over a better-sqlite3 database (WAL recommended when the app runs too). */
export function sqliteRewrapAdapter(db: SqliteDatabaseLike, ref: ColumnRef): RewrapAdapter {
  const { t, c, id } = quoted(ref);
  // PRAGMA takes the schema before its name: `PRAGMA "main".table_info("accounts")`.
  const dot = t.indexOf('"."');
  const info =
    dot < 0 ? `table_info(${t})` : `${t.slice(0, dot + 1)}.table_info(${t.slice(dot + 2)})`;
  const columns = db.prepare(`PRAGMA ${info}`).all() as Array<{ name: string }>;
  if (columns.length === 0) throw missing(ref, 'table');
  const names = new Set(columns.map((col) => col.name));
  if (!names.has(ref.column) || !names.has(ref.idColumn)) throw missing(ref, 'column');
  const safe = (s: SqliteStatementLike) => {
    s.safeIntegers?.(true); // 64-bit integer ids come back exact, as bigint
    return s;
  };
  const first = safe(
    db.prepare(`SELECT ${id} AS id, ${c} AS value FROM ${t} ORDER BY ${id} LIMIT ?`),
  );
  const next = safe(
    db.prepare(
      `SELECT ${id} AS id, ${c} AS value FROM ${t} WHERE ${id} > ? ORDER BY ${id} LIMIT ?`,
    ),
  );
  const one = safe(db.prepare(`SELECT ${id} AS id, ${c} AS value FROM ${t} WHERE ${id} = ?`));
  const update = db.prepare(`UPDATE ${t} SET ${c} = ? WHERE ${id} = ? AND ${c} = ?`);
  const count = db.prepare(`SELECT count(*) AS n FROM ${t}`);
  return {
    count: async () => Number((count.get() as { n: number | bigint }).n),
    readBatch: async (after, limit) =>
      (after === undefined ? first.all(limit) : next.all(after, limit)) as RewrapRow[],
    readRow: async (rowId) => one.get(rowId) as RewrapRow | undefined,
    writeBatch: async (updates) => {
      const conflicts: RowId[] = [];
      // IMMEDIATE takes the write lock up front, so a busy app never deadlocks the upgrade.
      db.exec('BEGIN IMMEDIATE');
      try {
        for (const u of updates) {
          if (update.run(u.value, u.id, u.expected).changes === 0) conflicts.push(u.id);
        }
        db.exec('COMMIT');
      } catch (err) {
        db.exec('ROLLBACK');
        throw err;
      }
      return conflicts;
    },
  };
}

/**
 * A RewrapAdapter over a node-postgres client. Use one `Client` (or `await pool.connect()`),
 * not a Pool. Looks the column types up first, so ids and values are cast exactly.
 */
export async function postgresRewrapAdapter(
  client: PgClientLike,
  ref: ColumnRef,
): Promise<RewrapAdapter> {
  const { t, c, id } = quoted(ref);
  const { rows } = await client.query(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_attribute a
      WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
        AND a.attname = ANY($2::text[])`,
    [t, [ref.column, ref.idColumn]],
  );
  const typeOf = new Map(rows.map((r) => [String(r.name), String(r.type)]));
  const idType = typeOf.get(ref.idColumn);
  const valueType = typeOf.get(ref.column);
  if (idType === undefined || valueType === undefined) throw missing(ref, 'table or column');
  // Type names go into the SQL text as casts: accept only what format_type prints for plain types.
  if (![idType, valueType].every((ty) => /^[A-Za-z0-9_ ."(),[\]]+$/.test(ty))) {
    throw new CofferError('INVALID_ARGUMENT', `unsupported column type for ${ref.table}`);
  }
  // Qualified names: ORDER BY must sort by the column's own type, not the text alias.
  const select = `SELECT r.${id}::text AS rid, r.${c}::text AS rvalue FROM ${t} AS r`;
  const toRow = (row: Record<string, unknown>): RewrapRow => ({
    id: String(row.rid),
    value: row.rvalue ?? null,
  });
  return {
    count: async () => Number((await client.query(`SELECT count(*) AS n FROM ${t}`)).rows[0]?.n),
    readBatch: async (after, limit) => {
      const r =
        after === undefined
          ? await client.query(`${select} ORDER BY r.${id} LIMIT $1`, [limit])
          : await client.query(
              `${select} WHERE r.${id} > $1::${idType} ORDER BY r.${id} LIMIT $2`,
              [String(after), limit],
            );
      return r.rows.map(toRow);
    },
    readRow: async (rowId) => {
      const r = await client.query(`${select} WHERE r.${id} = $1::${idType}`, [String(rowId)]);
      return r.rows[0] === undefined ? undefined : toRow(r.rows[0]);
    },
    writeBatch: async (updates) => {
      // One statement, so one transaction: every row of the batch or none.
      const r = await client.query(
        `UPDATE ${t} AS t SET ${c} = v.new_value::${valueType}
           FROM unnest($1::text[], $2::text[], $3::text[]) AS v(rid, old_value, new_value)
          WHERE t.${id} = v.rid::${idType} AND t.${c}::text = v.old_value
          RETURNING t.${id}::text AS id`,
        [
          updates.map((u) => String(u.id)),
          updates.map((u) => String(u.expected)),
          updates.map((u) => u.value),
        ],
      );
      const written = new Set(r.rows.map((row) => String(row.id)));
      return updates.filter((u) => !written.has(String(u.id))).map((u) => u.id);
    },
  };
}
