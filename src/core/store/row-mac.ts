/**
 * Row MACs: an HMAC-SHA256 over each stored row that decides access or which value is served
 * (keyring, secret metadata, API tokens), so that write access to the database without the
 * master key gains nothing. The byte format is specified in docs/format.md ("Row MACs") and
 * pinned by test/vectors/row-mac-v1.json.
 *
 *   mac = HMAC-SHA256(key = subkey "row-mac" of the master key,
 *                     message = "coffer/row-mac/v1" 0x00 || vault id (16 bytes) ||
 *                               field(table) || field(column 1) || ... || field(column n))
 *
 * Every field is typed and length-prefixed, and each table has a fixed column list that
 * starts with the row's key, so no two different rows, tables or vaults share an input: a
 * row cannot be edited, moved to another key or table, or copied into another vault that
 * has the same master key. A row's own older state (same key, with its older MAC) is not
 * detected here; SECURITY.md says so.
 *
 * Security preconditions: the key is the 32-byte `row-mac` subkey (crypto/subkeys.ts), used
 * for nothing else; MACs are compared in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { KekRecord, SecretRecord, TokenRecord } from './storage.js';

export const ROW_MAC_LABEL = 'coffer/row-mac/v1';
export const ROW_MAC_BYTES = 32;
export const VAULT_ID_BYTES = 16;

/** The tables whose rows carry a MAC. */
export type MacTable = 'keks' | 'secrets' | 'tokens';

/** One column value as the MAC sees it; the column list of each table fixes the types. */
export type MacField =
  | { t: 'null' }
  | { t: 'text'; v: string }
  | { t: 'int'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'bytes'; v: Uint8Array }
  | { t: 'texts'; v: readonly string[] };

const TAG = { null: 0, text: 1, int: 2, bool: 3, bytes: 4, texts: 5 } as const;

const text = (v: string): MacField => ({ t: 'text', v });
const textOrNull = (v: string | null): MacField => (v === null ? { t: 'null' } : text(v));
const int = (v: number): MacField => ({ t: 'int', v });

/** The MAC'd columns of a KEK row, key first. */
export function kekFields(k: KekRecord): MacField[] {
  return [
    text(k.id),
    text(k.status),
    k.sealed === null ? { t: 'null' } : { t: 'bytes', v: k.sealed },
    text(k.createdAt),
    textOrNull(k.retiredAt),
  ];
}

/** The MAC'd columns of a secret's metadata row, key (path, env) first. */
export function secretFields(s: SecretRecord): MacField[] {
  return [
    text(s.path),
    text(s.env),
    text(s.description),
    int(s.currentVersion),
    s.tier === null ? { t: 'null' } : int(s.tier),
    textOrNull(s.rotation),
    textOrNull(s.envVar),
    { t: 'bool', v: s.localOnly },
    textOrNull(s.generator),
    text(s.createdAt),
    text(s.updatedAt),
    textOrNull(s.deletedAt),
  ];
}

/**
 * The MAC'd columns of an API token row, key (id) first; a token that may not read values
 * (`reveal` = never) has one more field, so the MACs of other rows are unchanged and a row
 * edited to drop (or add) it fails.
 */
export function tokenFields(t: TokenRecord): MacField[] {
  const fields: MacField[] = [
    text(t.id),
    text(t.name),
    text(t.hash),
    { t: 'texts', v: t.allow },
    { t: 'texts', v: t.envs },
    { t: 'texts', v: t.caps },
    text(t.createdAt),
    textOrNull(t.expiresAt),
    textOrNull(t.revokedAt),
  ];
  if (t.noReveal === true) fields.push(text('reveal:never'));
  return fields;
}

function fieldLength(f: MacField): number {
  switch (f.t) {
    case 'null':
      return 1;
    case 'text':
      return 5 + Buffer.byteLength(f.v, 'utf8');
    case 'int':
      return 9;
    case 'bool':
      return 2;
    case 'bytes':
      return 5 + f.v.length;
    case 'texts':
      return f.v.reduce((n, s) => n + 4 + Buffer.byteLength(s, 'utf8'), 5);
  }
}

function writeField(buf: Buffer, at: number, f: MacField): number {
  let o = buf.writeUInt8(TAG[f.t], at);
  switch (f.t) {
    case 'null':
      return o;
    case 'text': {
      const n = buf.write(f.v, o + 4, 'utf8');
      buf.writeUInt32BE(n, o);
      return o + 4 + n;
    }
    case 'int':
      if (!Number.isSafeInteger(f.v)) throw new RangeError('a MAC integer must be a safe integer');
      return buf.writeBigInt64BE(BigInt(f.v), o);
    case 'bool':
      return buf.writeUInt8(f.v ? 1 : 0, o);
    case 'bytes':
      o = buf.writeUInt32BE(f.v.length, o);
      buf.set(f.v, o);
      return o + f.v.length;
    case 'texts':
      o = buf.writeUInt32BE(f.v.length, o);
      for (const s of f.v) {
        const n = buf.write(s, o + 4, 'utf8');
        buf.writeUInt32BE(n, o);
        o += 4 + n;
      }
      return o;
  }
}

/** The exact bytes a row's MAC covers (exported for the conformance vectors). */
export function rowMacInput(vaultId: Uint8Array, table: MacTable, fields: MacField[]): Buffer {
  if (vaultId.length !== VAULT_ID_BYTES) throw new RangeError('a vault id is 16 bytes');
  const all = [text(table), ...fields];
  const head = ROW_MAC_LABEL.length + 1 + VAULT_ID_BYTES;
  const buf = Buffer.allocUnsafe(all.reduce((n, f) => n + fieldLength(f), head));
  let o = buf.write(ROW_MAC_LABEL, 0, 'latin1');
  o = buf.writeUInt8(0, o);
  buf.set(vaultId, o);
  o += VAULT_ID_BYTES;
  for (const f of all) o = writeField(buf, o, f);
  return buf;
}

/** The key a vault's row MACs are made with: the `row-mac` subkey and the vault's id. */
export interface RowMacKey {
  key: Uint8Array;
  vaultId: Uint8Array;
}

export function rowMac(k: RowMacKey, table: MacTable, fields: MacField[]): Uint8Array {
  const mac = createHmac('sha256', k.key)
    .update(rowMacInput(k.vaultId, table, fields))
    .digest();
  return new Uint8Array(mac.buffer, mac.byteOffset, mac.length);
}

/**
 * Rows whose MAC this process has checked and found right, as their fields by MAC, per key:
 * a row read again unchanged (a server answering the same secret over and over) is
 * recognised by comparing its vault id, table and fields with the ones that passed, which skips building the
 * input and the HMAC. Sound because a cached entry is a (row, MAC) pair the key was seen to
 * make, and the comparison is exact (same table, same typed values); neither rows nor MACs
 * are secret. Bounded: cleared when full.
 */
const verified = new WeakMap<
  Uint8Array,
  Map<string, { vault: string; table: MacTable; fields: MacField[] }>
>();
// A project page of the web UI lists every row of a project (1,500 for 500 secrets in three
// environments): the bound holds several such listings (about 0.5 KB an entry).
const VERIFIED_MAX = 8192;

function sameField(a: MacField, b: MacField): boolean {
  switch (a.t) {
    case 'null':
      return b.t === 'null';
    case 'text':
    case 'int':
    case 'bool':
      return b.t === a.t && b.v === a.v;
    case 'bytes':
      return b.t === 'bytes' && Buffer.from(a.v).equals(b.v);
    case 'texts':
      return b.t === 'texts' && b.v.length === a.v.length && a.v.every((s, i) => s === b.v[i]);
  }
}

/** A copy that later changes to the caller's arrays cannot reach. */
function ownFields(fields: MacField[]): MacField[] {
  return fields.map((f) =>
    f.t === 'bytes'
      ? { t: 'bytes', v: Uint8Array.from(f.v) }
      : f.t === 'texts'
        ? { t: 'texts', v: [...f.v] }
        : { ...f },
  );
}

const vaultIds = new WeakMap<Uint8Array, string>();

/** A vault id as a string to compare, made once per id array (a listing checks many rows). */
function vaultIdText(id: Uint8Array): string {
  let text = vaultIds.get(id);
  if (text === undefined) {
    text = Buffer.from(id.buffer, id.byteOffset, id.length).toString('latin1');
    vaultIds.set(id, text);
  }
  return text;
}

/**
 * Could coffer have written this field? An integer it writes is a safe integer (what the
 * format encodes), a flag is a boolean. A row read back with anything else (2^62 in an
 * INTEGER column, 1.5 or 'abc' in a table re-created without STRICT, NaN from the storage's
 * mapping) was changed outside coffer, so it fails its MAC rather than the encoding.
 */
export function writable(f: MacField): boolean {
  switch (f.t) {
    case 'int':
      return Number.isSafeInteger(f.v);
    case 'bool':
      return typeof f.v === 'boolean';
    default:
      return true;
  }
}

/**
 * Does `mac` (as stored; null or absent for a row without one) authenticate the row? False,
 * never an exception, for a row holding a value coffer never writes (see `writable`).
 */
export function rowMacMatches(
  k: RowMacKey,
  table: MacTable,
  fields: MacField[],
  mac: Uint8Array | null | undefined,
  /** False for a bulk read (thousands of rows, each once): check without the cache. */
  cache = true,
): boolean {
  if (mac === null || mac === undefined || mac.length !== ROW_MAC_BYTES) return false;
  if (!fields.every(writable)) return false;
  if (!cache) return timingSafeEqual(rowMac(k, table, fields), mac);
  const id = Buffer.from(mac.buffer, mac.byteOffset, mac.length).toString('latin1');
  let known = verified.get(k.key);
  const seen = known?.get(id);
  const vault = vaultIdText(k.vaultId);
  if (
    seen !== undefined &&
    seen.vault === vault &&
    seen.table === table &&
    seen.fields.length === fields.length &&
    seen.fields.every((f, i) => sameField(f, fields[i]!))
  ) {
    return true;
  }
  if (!timingSafeEqual(rowMac(k, table, fields), mac)) return false;
  if (known === undefined) {
    known = new Map();
    verified.set(k.key, known);
  } else if (known.size >= VERIFIED_MAX) {
    known.clear();
  }
  known.set(id, { vault, table, fields: ownFields(fields) });
  return true;
}
