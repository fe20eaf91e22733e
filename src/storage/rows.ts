/**
 * Row-to-record mapping shared by the SQL backends. Both store the same columns under the
 * same names (docs/format.md); they differ only in how a text column comes back (PostgreSQL
 * text is escaped, see postgres/text-escape.ts), how a boolean does (SQLite: 0/1) and how
 * an integer does (PostgreSQL bigint: decimal text).
 *
 * A column can hold what coffer never writes there: 2^62 fits SQLite's INTEGER and
 * PostgreSQL's bigint but no JavaScript number, and a table re-created without STRICT takes
 * 1.5 or 'abc'. Such a value is read as NaN (an integer) or as a row without a MAC (a
 * boolean), never as some nearby number: a MAC'd row holding one fails its MAC
 * (core/store/row-mac.ts) and is reported as changed outside coffer, like any other edit.
 */
import { CofferError } from '../core/errors.js';
import type {
  AuditRecord,
  KekRecord,
  KekStatus,
  SecretRecord,
  TokenRecord,
  VersionRecord,
} from '../core/store/storage.js';
import { escapeControls } from '../core/terminal-text.js';

export type Row = Record<string, unknown>;

export interface Dialect {
  /** A text column's value as stored, back to the string that was written. */
  text(v: unknown): string;
  /** A boolean column's value; undefined for anything coffer does not write there. */
  bool(v: unknown): boolean | undefined;
  /** An integer column's value as a safe integer; NaN for anything else. */
  int(v: unknown): number;
}

/** A SQLite INTEGER column's value: a safe integer, else NaN (better-sqlite3 rounds 2^62). */
export const sqliteInt = (v: unknown): number =>
  typeof v === 'number' && Number.isSafeInteger(v) ? v : NaN;

/** A PostgreSQL bigint (decimal text) or integer (number) column's value, else NaN. */
export function postgresInt(v: unknown): number {
  const n = typeof v === 'string' && /^-?[0-9]{1,16}$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isSafeInteger(n) ? n : NaN;
}

/**
 * A secret_versions row id, which names the row to update in a key rotation's re-wrap: one
 * no number holds exactly would update another row, or none (and be listed again and again).
 */
export function rowId(d: Dialect, v: unknown): number {
  const id = d.int(v);
  if (Number.isNaN(id)) {
    throw new CofferError(
      'INTEGRITY_FAILURE',
      'a stored secret version has a row id coffer never writes: it was changed outside coffer',
    );
  }
  return id;
}

export interface RowMappers {
  toKek(r: Row): KekRecord;
  toSecret(r: Row): SecretRecord;
  toVersion(r: Row): VersionRecord;
  toAudit(r: Row): AuditRecord;
  toToken(r: Row): TokenRecord;
}

/** The column of each patchable SecretRecord field (`patchSecret`), same in both backends. */
export const SECRET_COLUMNS: Readonly<Record<string, string>> = {
  description: 'description',
  currentVersion: 'current_version',
  tier: 'tier',
  rotation: 'rotation',
  envVar: 'env_var',
  localOnly: 'local_only',
  generator: 'generator',
  updatedAt: 'updated_at',
  deletedAt: 'deleted_at',
  mac: 'mac',
};

/** A byte column as a Uint8Array over the driver's Buffer (no copy). */
export const bytes = (v: unknown): Uint8Array => {
  const b = v as Buffer;
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
};

/**
 * A token's list column (JSON array of strings). Anything else was written outside coffer:
 * refused as an integrity failure rather than a parser error.
 */
function stringList(text: string, id: string): string[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    v = undefined;
  }
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    throw new CofferError(
      'INTEGRITY_FAILURE',
      `the stored token ${escapeControls(id.slice(0, 64))} has a malformed list: it was changed outside coffer`,
    );
  }
  return v;
}
const bytesOrNull = (v: unknown): Uint8Array | null =>
  v === null || v === undefined ? null : bytes(v);

export function rowMappers(d: Dialect): RowMappers {
  const t = d.text;
  const tOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : t(v));
  const intOrNull = (v: unknown): number | null => (v === null ? null : d.int(v));
  return {
    toKek: (r) => ({
      id: t(r.id),
      sealed: r.sealed === null ? null : bytes(r.sealed),
      status: t(r.status) as KekStatus,
      createdAt: t(r.created_at),
      retiredAt: tOrNull(r.retired_at),
      mac: bytesOrNull(r.mac),
    }),
    toSecret: (r) => {
      const localOnly = d.bool(r.local_only);
      return {
        path: t(r.path),
        env: t(r.env),
        description: t(r.description),
        currentVersion: d.int(r.current_version),
        tier: intOrNull(r.tier),
        rotation: tOrNull(r.rotation),
        envVar: tOrNull(r.env_var),
        localOnly: localOnly === true,
        generator: tOrNull(r.generator),
        createdAt: t(r.created_at),
        updatedAt: t(r.updated_at),
        deletedAt: tOrNull(r.deleted_at),
        // A flag coffer never writes (2 in SQLite's 0/1): no MAC can vouch for the row.
        mac: localOnly === undefined ? null : bytesOrNull(r.mac),
      };
    },
    toVersion: (r) => ({
      path: t(r.path),
      env: t(r.env),
      version: d.int(r.version),
      kekId: t(r.kek_id),
      wrappedDek: bytes(r.wrapped_dek),
      ciphertext: bytes(r.ciphertext),
      createdAt: t(r.created_at),
      actor: t(r.actor),
    }),
    toAudit: (r) => ({
      seq: d.int(r.seq),
      ts: t(r.ts),
      actor: t(r.actor),
      action: t(r.action),
      path: tOrNull(r.path),
      env: tOrNull(r.env),
      version: intOrNull(r.version),
      outcome: t(r.outcome),
      detail: tOrNull(r.detail),
      prevHash: t(r.prev_hash),
      hash: t(r.hash),
    }),
    toToken: (r) => ({
      id: t(r.id),
      name: t(r.name),
      hash: t(r.hash),
      allow: stringList(t(r.allow), t(r.id)),
      envs: stringList(t(r.envs), t(r.id)),
      caps: stringList(t(r.caps), t(r.id)) as TokenRecord['caps'],
      createdAt: t(r.created_at),
      expiresAt: tOrNull(r.expires_at),
      revokedAt: tOrNull(r.revoked_at),
      ...(r.reveal === 'never' ? { noReveal: true } : {}),
      mac: bytesOrNull(r.mac),
    }),
  };
}

/** A `listMeta` limit as SQL text: a whole number >= 1 (RangeError otherwise). */
export function metaLimit(limit: number): string {
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new RangeError('listMeta limit must be a whole number >= 1');
  }
  return String(limit);
}
