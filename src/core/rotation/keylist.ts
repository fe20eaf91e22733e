/**
 * Values that are key lists rather than one secret: a `coffer/envelope` keyring
 * (`k2:<base64>,k1:<base64>`, the COFFER_DATA_KEYS grammar) or a list of Fernet keys
 * (`new,old`, as MultiFernet takes them). Rotating one never replaces it: a new primary key
 * goes first and the old keys stay, so data encrypted before the rotation still decrypts;
 * the old keys leave only when asked, after the data was rewrapped.
 */
import { randomBytes } from 'node:crypto';
import { parseKeyList } from '../envelope/keyring.js';
import { decodeFernetKey, generateFernetKey, wipeFernetKey } from '../fernet/fernet.js';

export type KeyListFormat = 'envelope' | 'fernet';

export interface KeyList {
  format: KeyListFormat;
  /** Entries as written, newest (primary) first. */
  entries: string[];
  /** Key ids of an envelope keyring (empty for Fernet). */
  ids: string[];
}

/** The value as an envelope keyring, or undefined when it is not one. */
function envelopeKeys(value: string): KeyList | undefined {
  if (!value.includes(':')) return undefined;
  try {
    const keys = parseKeyList(value, 'the value');
    for (const k of keys) if (k.key instanceof Uint8Array) k.key.fill(0);
    return {
      format: 'envelope',
      entries: value.split(',').map((e) => e.trim()),
      ids: keys.map((k) => k.id),
    };
  } catch {
    return undefined;
  }
}

/** The value as a list of Fernet keys, or undefined when it is not one. */
function fernetKeys(value: string): KeyList | undefined {
  const entries = value.split(',').map((e) => e.trim());
  for (const e of entries) {
    try {
      wipeFernetKey(decodeFernetKey(e));
    } catch {
      return undefined;
    }
  }
  return { format: 'fernet', entries, ids: [] };
}

/**
 * The key list a value is, or undefined. A Fernet key looks like any url-safe random value,
 * so a single one counts only when the secret is known to be one (`fernet` generator or
 * tier 3); a list of several always counts.
 */
export function readKeyList(
  value: string,
  hint: { generator: string | null; tier: number | null },
): KeyList | undefined {
  const envelope = envelopeKeys(value);
  if (envelope !== undefined) return envelope;
  const fernet = fernetKeys(value);
  if (fernet === undefined) return undefined;
  if (fernet.entries.length > 1 || hint.generator === 'fernet' || hint.tier === 3) return fernet;
  return undefined;
}

/** The next key id of an envelope keyring: k<N+1> after k1..kN, never one in use. */
function nextId(ids: readonly string[]): string {
  let n = ids.length + 1;
  for (const id of ids) {
    const m = /^k([0-9]{1,6})$/.exec(id);
    if (m !== null) n = Math.max(n, Number(m[1]) + 1);
  }
  while (ids.includes(`k${n}`)) n++;
  return `k${n}`;
}

/** The list with a new primary key first; every old key kept. */
export function addPrimaryKey(list: KeyList): { value: string; primaryId: string | null } {
  if (list.format === 'fernet') {
    return { value: [generateFernetKey(), ...list.entries].join(','), primaryId: null };
  }
  const id = nextId(list.ids);
  const key = randomBytes(32);
  try {
    return { value: [`${id}:${key.toString('base64')}`, ...list.entries].join(','), primaryId: id };
  } finally {
    key.fill(0);
  }
}

/** The list with the primary key only (after the rewrap). */
export function keepPrimaryKey(list: KeyList): string {
  return list.entries[0]!;
}
