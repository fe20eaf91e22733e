/**
 * Data keyrings for application envelopes: an ordered list of 256-bit AES keys, each with an
 * id that every envelope records. The first key that may encrypt is the primary: new
 * envelopes use it; every key decrypts the envelopes that name it. Rotation is therefore
 * "put the new key first, keep the old one until `rewrapRows` has moved every row".
 *
 * Security preconditions and choices:
 * - Keys are exactly 32 bytes (from the OS CSPRNG, e.g. `openssl rand -base64 32`). They are
 *   copied in, kept in Uint8Array in a module-private WeakMap (never on the object, so
 *   `console.log(keyring)`, `JSON.stringify(keyring)` and error messages show ids only), and
 *   zeroed by `destroy()`. JavaScript cannot promise that no other copy stays in memory.
 * - A key can be decrypt-only (the legacy `sha256` derivation of CONNECTOR_SECRET_KEY): it
 *   opens old envelopes and is never used to write.
 * - Errors name the source (variable, secret path) and the entry number, never key bytes.
 *
 * Not done here: reading the environment or the vault (env-keyring.ts), the envelope bytes
 * (format.ts).
 */
import { KEY_BYTES } from '../crypto/aead.js';
import { CofferError } from '../errors.js';
import { parseMasterKey } from '../keys/master-key.js';
import { KEY_ID_PATTERN } from './format.js';

/** One key given to `createKeyring`. */
export interface DataKeyInput {
  /** The id written into envelopes: 1-64 characters of `A-Z a-z 0-9 . _ -`. */
  id: string;
  /** 32 bytes, or their base64 (standard or url-safe). The bytes are copied. */
  key: Uint8Array | string;
  /** Open envelopes with this key but never encrypt with it. */
  decryptOnly?: boolean | undefined;
}

export interface KeyringOptions {
  /**
   * Where warnings go (the plaintext warning of `allowPlaintext`). Default:
   * `process.emitWarning`, which prints once to stderr unless the app handles 'warning'.
   */
  warn?: ((message: string) => void) | undefined;
}

interface KeyringState {
  keys: Map<string, { bytes: Uint8Array; decryptOnly: boolean }>;
  /** Set by destroy(): every use after it is an error, never a keyring without keys. */
  destroyed?: true;
  warn: (message: string) => void;
  warned: Set<string>;
}

const STATE = new WeakMap<DataKeyring, KeyringState>();

/** An ordered set of data keys; see the module comment. Build one with `createKeyring`. */
export class DataKeyring {
  /** The id of the key new envelopes are sealed with, or undefined when none may encrypt. */
  readonly primaryId: string | undefined;
  /** Every key id, primary first. */
  readonly ids: readonly string[];

  constructor(keys: readonly DataKeyInput[], options: KeyringOptions = {}) {
    if (!Array.isArray(keys)) throw new TypeError('keys must be an array of {id, key}');
    const map: KeyringState['keys'] = new Map();
    keys.forEach((k, i) => {
      const source = `key ${i + 1}`;
      const id = checkKeyId(k?.id, source);
      if (map.has(id)) {
        throw new CofferError('DATA_KEY_INVALID', `the key id ${id} appears twice in the keyring`);
      }
      map.set(id, { bytes: keyBytes(k.key, source), decryptOnly: k.decryptOnly === true });
    });
    this.ids = Object.freeze([...map.keys()]);
    this.primaryId = [...map].find(([, k]) => !k.decryptOnly)?.[0];
    STATE.set(this, {
      keys: map,
      warn: options.warn ?? ((m) => process.emitWarning(m, { code: 'COFFER_PLAINTEXT' })),
      warned: new Set(),
    });
  }

  /** Whether a key with this id is in the keyring. */
  has(id: string): boolean {
    return state(this).keys.has(id);
  }

  /** Zeroes every key; the keyring cannot be used afterwards. */
  destroy(): void {
    const s = STATE.get(this);
    if (s === undefined || s.destroyed) return; // a second destroy (cleanup run twice) is fine
    for (const k of s.keys.values()) k.bytes.fill(0);
    s.keys.clear();
    s.destroyed = true;
  }

  /** What JSON.stringify shows: ids only. */
  toJSON(): { primary: string | null; ids: string[] } {
    return { primary: this.primaryId ?? null, ids: [...this.ids] };
  }
}

/**
 * Builds a keyring from keys in order: the first key that is not decrypt-only is primary.
 * Throws DATA_KEY_INVALID for a bad id, a key that is not 32 bytes, or a repeated id.
 *
 * @example
 * ```ts
 * const keyring = createKeyring([
 *   { id: 'k2', key: process.env.NEW_KEY! },  // base64 of 32 bytes: the primary
 *   { id: 'k1', key: oldKeyBytes },           // still opens rows written before the rotation
 * ]);
 * ```
 */
export function createKeyring(
  keys: readonly DataKeyInput[],
  options: KeyringOptions = {},
): DataKeyring {
  return new DataKeyring(keys, options);
}

function state(ring: DataKeyring): KeyringState {
  const s = STATE.get(ring);
  if (s === undefined) throw new TypeError('not a keyring made by createKeyring');
  // Its keys are zeroed: encrypting would otherwise fall back to "no key configured"
  // (plaintext with allowPlaintext), and decrypting to "rotated away".
  if (s.destroyed) throw new TypeError('this keyring was destroyed (destroy()) and cannot be used');
  return s;
}

/** The primary key (internal to coffer/envelope: not exported from index.ts). */
export function primaryKey(ring: DataKeyring): { id: string; bytes: Uint8Array } | undefined {
  const id = ring.primaryId;
  const keys = state(ring).keys;
  const k = id === undefined ? undefined : keys.get(id);
  return id === undefined || k === undefined ? undefined : { id, bytes: k.bytes };
}

/**
 * The key with id `kid`, or KEY_NOT_FOUND with the message the docs promise. An empty
 * keyring is DATA_KEY_MISSING instead: nothing was configured, so nothing was rotated away.
 */
export function keyById(ring: DataKeyring, kid: string): Uint8Array {
  const k = state(ring).keys.get(kid);
  if (k === undefined && ring.ids.length === 0) {
    throw new CofferError(
      'DATA_KEY_MISSING',
      `no data key is configured, and this envelope needs the key ${kid}`,
      {
        hint:
          `Configure the key that encrypted it: COFFER_DATA_KEYS="${kid}:<base64 of the 32-byte key>" ` +
          '(or the WORKFLOWS_ARTIFACT_ENC_KEY or CONNECTOR_SECRET_KEY the application uses).',
      },
    );
  }
  if (k === undefined) {
    throw new CofferError(
      'KEY_NOT_FOUND',
      `no key in the keyring has id ${kid} (was the key rotated away?)`,
      { hint: `Add the key ${kid} back to the keyring (as an older key) and re-wrap the rows.` },
    );
  }
  return k.bytes;
}

/** Calls the keyring's warn function once per `topic`. */
export function warnOnce(ring: DataKeyring, topic: string, message: string): void {
  const s = state(ring);
  if (s.warned.has(topic)) return;
  s.warned.add(topic);
  s.warn(message);
}

function checkKeyId(id: unknown, source: string): string {
  if (typeof id !== 'string' || !KEY_ID_PATTERN.test(id)) {
    // The id is not echoed: a malformed "id" is often a pasted key.
    throw new CofferError(
      'DATA_KEY_INVALID',
      `${source} has an invalid key id: use 1-64 characters of A-Z a-z 0-9 . _ - (e.g. k2)`,
    );
  }
  return id;
}

function keyBytes(key: unknown, source: string): Uint8Array {
  if (key instanceof Uint8Array) {
    if (key.length !== KEY_BYTES) {
      throw new CofferError('DATA_KEY_INVALID', `${source} must be ${KEY_BYTES} bytes`);
    }
    return new Uint8Array(key);
  }
  if (typeof key === 'string') return decodeKey(key, source);
  throw new CofferError('DATA_KEY_INVALID', `${source} must be a Uint8Array or a base64 string`);
}

/** Decodes base64 (standard or url-safe) of exactly 32 bytes; `source` names it in errors. */
export function decodeKey(text: string, source: string): Uint8Array {
  try {
    return parseMasterKey(text, source);
  } catch (err) {
    throw new CofferError('DATA_KEY_INVALID', `${source} must be base64 of ${KEY_BYTES} bytes`, {
      hint: 'Generate a key with `openssl rand -base64 32`.',
      cause: err,
    });
  }
}

/**
 * Parses a key list `k2:<base64>,k1:<base64>` (the COFFER_DATA_KEYS grammar; also the value
 * of a keyring secret in the vault). Whitespace around entries is ignored.
 */
export function parseKeyList(text: string, source: string): DataKeyInput[] {
  const entries = text.split(',').map((e) => e.trim());
  return entries.map((entry, i) => {
    const where = entries.length === 1 ? source : `${source} entry ${i + 1}`;
    const colon = entry.indexOf(':');
    if (colon <= 0) {
      throw new CofferError('DATA_KEY_INVALID', `${where} must be <id>:<base64 of 32 bytes>`, {
        hint: 'Example: k2:<new key, base64>,k1:<old key, base64> (the first one is primary).',
      });
    }
    const id = checkKeyId(entry.slice(0, colon), where);
    return { id, key: decodeKey(entry.slice(colon + 1), where) };
  });
}
