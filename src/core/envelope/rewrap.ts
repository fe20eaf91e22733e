/**
 * `rewrapRows`: moves every row of a table column to the keyring's primary key.
 *
 * For each batch of rows (by ascending id): skip empty rows and rows already on the primary
 * key (read from the envelope, no decryption), open the others with whichever key they name
 * (legacy plaintext only with `allowPlaintext`), seal the same JSON bytes with the primary
 * key, open the result again and compare (verify), then write the batch in one transaction.
 *
 * - Resumable: nothing is remembered between runs; a run after a crash skips the rows an
 *   earlier run finished, because they already name the primary key.
 * - Safe while the application runs with both keys: each write is a compare-and-swap on the
 *   old stored text, so a row the app changed meanwhile is not overwritten; it is read
 *   again and handled on its new content (usually already on the primary key).
 * - A row that cannot be opened (unknown key id, tampered bytes, refused plaintext) is
 *   reported with its id and error code, and the walk goes on. Database errors stop it.
 *
 * The database is reached only through `RewrapAdapter` (sql-adapters.ts has SQLite and
 * PostgreSQL ones), so the same walk works for any store that can page by id.
 */
import { CofferError, type ErrorCode } from '../errors.js';
import { openEnvelopeParts, parseEnvelope, sealEnvelopeText } from './format.js';
import { isEnvelopeLike, openStoredText } from './json-blob.js';
import { type DataKeyring, primaryKey } from './keyring.js';

export type RowId = string | number | bigint;

export interface RewrapRow {
  id: RowId;
  /** The stored value: envelope text, legacy plaintext, a parsed JSON column, or null. */
  value: unknown;
}

export interface RewrapUpdate {
  id: RowId;
  /** The value read; the write happens only if the row still holds it. */
  expected: unknown;
  /** The new envelope text. */
  value: string;
}

/** The few operations `rewrapRows` needs from a table. */
export interface RewrapAdapter {
  /** How many rows the table has (for progress), if cheap to know. */
  count?(): Promise<number>;
  /** Up to `limit` rows with id > `after` (from the first row when undefined), by ascending id. */
  readBatch(after: RowId | undefined, limit: number): Promise<RewrapRow[]>;
  /** Applies the updates in one transaction; returns the ids whose row had changed (not written). */
  writeBatch(updates: RewrapUpdate[]): Promise<RowId[]>;
  /** One row, read again after a conflict; undefined when it was deleted. */
  readRow(id: RowId): Promise<RewrapRow | undefined>;
}

export interface RewrapOptions {
  /** The context each row's envelope is bound to (e.g. `(id) => rowContext(t, c, id)`). */
  context: (id: RowId) => string;
  /** Rows per read and per write transaction (default 500). */
  batchSize?: number | undefined;
  /** Open, re-seal and verify, but write nothing. */
  dryRun?: boolean | undefined;
  /** Encrypt legacy plaintext rows (otherwise they are failures with PLAINTEXT_REFUSED). */
  allowPlaintext?: boolean | undefined;
  onProgress?: ((p: { done: number; total: number | undefined }) => void) | undefined;
}

export interface RewrapFailure {
  id: string;
  code: ErrorCode;
  message: string;
  /** The context the row was opened with (not secret: table, column and id). */
  context?: string;
}

export interface RewrapResult {
  primary: string;
  dryRun: boolean;
  scanned: number;
  /** Envelopes moved from an older key to the primary (or that would be, with dryRun). */
  rewrapped: number;
  alreadyCurrent: number;
  plaintextEncrypted: number;
  /** NULL rows, left alone. */
  empty: number;
  /** Rows the application changed between read and write, handled again on their new value. */
  retried: number;
  failures: RewrapFailure[];
}

const MAX_CONFLICT_RETRIES = 5;

/** Walks the table and re-wraps every row to the primary key; see the module comment. */
export async function rewrapRows(
  adapter: RewrapAdapter,
  keyring: DataKeyring,
  options: RewrapOptions,
): Promise<RewrapResult> {
  const batchSize = options.batchSize ?? 500;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new RangeError('batchSize must be a whole number >= 1');
  }
  if (typeof options.context !== 'function') throw new TypeError('context must be a function');
  const primary = primaryKey(keyring);
  if (primary === undefined) {
    throw new CofferError('DATA_KEY_MISSING', 'the keyring has no primary key to re-wrap to');
  }
  const result: RewrapResult = {
    primary: primary.id,
    dryRun: options.dryRun === true,
    scanned: 0,
    rewrapped: 0,
    alreadyCurrent: 0,
    plaintextEncrypted: 0,
    empty: 0,
    retried: 0,
    failures: [],
  };
  const total = await adapter.count?.();
  let after: RowId | undefined;
  for (;;) {
    const rows = await adapter.readBatch(after, batchSize);
    if (rows.length === 0) break;
    after = rows[rows.length - 1]!.id;
    let pending = rows;
    for (let attempt = 0; pending.length > 0; attempt++) {
      const updates: Array<RewrapUpdate & { plaintext: boolean }> = [];
      for (const row of pending) {
        const u = planRow(row, keyring, primary, options, result);
        if (u !== undefined) updates.push(u);
      }
      const conflicts =
        result.dryRun || updates.length === 0 ? [] : await adapter.writeBatch(updates);
      const conflicted = new Set(conflicts.map(String));
      for (const u of updates) {
        if (conflicted.has(String(u.id))) continue;
        if (u.plaintext) result.plaintextEncrypted++;
        else result.rewrapped++;
      }
      pending = [];
      result.retried += conflicts.length;
      for (const id of conflicts) {
        if (attempt + 1 >= MAX_CONFLICT_RETRIES) {
          result.failures.push({
            id: String(id),
            code: 'VERSION_CONFLICT',
            message: 'the row kept changing while it was re-wrapped; run the rewrap again',
          });
          continue;
        }
        const again = await adapter.readRow(id);
        if (again !== undefined) pending.push(again);
      }
    }
    result.scanned += rows.length;
    options.onProgress?.({ done: result.scanned, total });
  }
  return result;
}

/** Decides what to do with one row; returns its update, or undefined when there is none. */
function planRow(
  row: RewrapRow,
  keyring: DataKeyring,
  primary: { id: string; bytes: Uint8Array },
  options: RewrapOptions,
  result: RewrapResult,
): (RewrapUpdate & { plaintext: boolean }) | undefined {
  if (row.value === null || row.value === undefined) {
    result.empty++;
    return undefined;
  }
  let context: string | undefined;
  try {
    const envelope = isEnvelopeLike(row.value);
    if (envelope && parseEnvelope(row.value).kid === primary.id) {
      result.alreadyCurrent++;
      return undefined;
    }
    context = options.context(row.id);
    const opened = openStoredText(row.value, keyring, {
      context,
      allowPlaintext: options.allowPlaintext === true,
    });
    try {
      const value = sealEnvelopeText(primary.bytes, primary.id, opened.text, context);
      const check = openEnvelopeParts(primary.bytes, parseEnvelope(value), context);
      const same = check.equals(opened.text);
      check.fill(0);
      if (!same) throw new CofferError('INTEGRITY_FAILURE', 're-wrapped value did not verify');
      return { id: row.id, expected: row.value, value, plaintext: !envelope };
    } finally {
      opened.text.fill(0);
    }
  } catch (err) {
    // A row the format cannot hold (a legacy value over the size limit, a context the
    // caller's function made invalid) fails alone: the walk goes on, as for a CofferError.
    const rowError = err instanceof RangeError || err instanceof TypeError;
    if (!(err instanceof CofferError) && !rowError) throw err;
    result.failures.push({
      id: String(row.id),
      code: err instanceof CofferError ? err.code : 'INVALID_ARGUMENT',
      message: err.message,
      ...(context !== undefined ? { context } : {}),
    });
    return undefined;
  }
}
