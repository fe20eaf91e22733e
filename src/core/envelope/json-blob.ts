/**
 * `encryptJsonBlob` / `decryptJsonBlob`: a JSON value in, envelope text out, and back
 * (format in format.ts). This is the API of the seeds' `encrypt_json_blob` /
 * `decrypt_json_blob`, with the key id recorded and the row bound as context.
 *
 * Plaintext is a decision, not a default:
 * - With no key that may encrypt, `encryptJsonBlob` throws DATA_KEY_MISSING, unless the
 *   caller passes `allowPlaintext: true`: then it returns the value's JSON text unencrypted
 *   and the keyring's warn function is called once.
 * - `decryptJsonBlob` refuses stored data that is not an envelope (PLAINTEXT_REFUSED) unless
 *   `allowPlaintext: true` (migration mode): then legacy rows are returned as they are (JSON
 *   text parsed, any other text as a string) and `onPlaintext` is told about each one.
 *
 * Stored data counts as an envelope when it names at least two of the members "coffer",
 * "kid", "iv", "ct". A changed byte can break only one of those names, so a damaged
 * envelope is always an error, even in migration mode, and never read as legacy plaintext.
 */
import { CofferError } from '../errors.js';
import { checkContext, openEnvelopeParts, parseEnvelope, sealEnvelopeText } from './format.js';
import { type DataKeyring, keyById, primaryKey, warnOnce } from './keyring.js';

export interface EncryptJsonOptions {
  /** What the envelope is bound to, e.g. `external_accounts/access_token/42` (rowContext). */
  context: string;
  /** With no encryption key, store the JSON text as plaintext instead of throwing. */
  allowPlaintext?: boolean | undefined;
}

export interface DecryptJsonOptions {
  /** The context given when the envelope was made. */
  context: string;
  /** Migration mode: accept legacy rows that are not envelopes. */
  allowPlaintext?: boolean | undefined;
  /** Called with the context of each legacy plaintext row read in migration mode. */
  onPlaintext?: ((context: string) => void) | undefined;
}

/** What `openJsonBlob` returns: the value and how it was stored. */
export interface OpenedJsonBlob<T = unknown> {
  value: T;
  /** The envelope's key id; undefined for a legacy plaintext row. */
  keyId: string | undefined;
  plaintext: boolean;
}

/** The stored form opened to UTF-8 JSON text (internal; rewrap.ts re-seals these bytes). */
export interface OpenedText {
  text: Buffer;
  keyId: string | undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const MARKERS = ['"coffer"', '"kid"', '"iv"', '"ct"'];

/**
 * Encrypts a JSON value under the keyring's primary key, bound to `context`.
 * Throws TypeError for a value JSON cannot represent, RangeError above 1 MiB of JSON.
 *
 * @example
 * ```ts
 * const stored = encryptJsonBlob({ access_token, refresh_token }, keyring, {
 *   context: rowContext('external_accounts', 'access_token', accountId),
 * });
 * ```
 */
export function encryptJsonBlob(
  value: unknown,
  keyring: DataKeyring,
  options: EncryptJsonOptions,
): string {
  const context = checkContext(options?.context);
  const text = jsonText(value);
  const primary = primaryKey(keyring);
  if (primary === undefined) {
    if (options.allowPlaintext !== true) throw noKey(keyring);
    warnOnce(
      keyring,
      'plaintext-write',
      'coffer/envelope: no encryption key is configured; values are stored as PLAINTEXT ' +
        '(allowPlaintext: true). Set COFFER_DATA_KEYS to encrypt them.',
    );
    return text;
  }
  return sealEnvelopeText(primary.bytes, primary.id, text, context);
}

/**
 * Decrypts what `encryptJsonBlob` stored, with whichever key of the keyring the envelope
 * names. Throws KEY_NOT_FOUND, INTEGRITY_FAILURE (wrong context, changed bytes),
 * UNSUPPORTED_FORMAT, or PLAINTEXT_REFUSED; never returns a value it could not authenticate.
 */
export function decryptJsonBlob<T = unknown>(
  stored: unknown,
  keyring: DataKeyring,
  options: DecryptJsonOptions,
): T {
  return openJsonBlob<T>(stored, keyring, options).value;
}

/** `decryptJsonBlob` that also says which key opened the value, or that it was plaintext. */
export function openJsonBlob<T = unknown>(
  stored: unknown,
  keyring: DataKeyring,
  options: DecryptJsonOptions,
): OpenedJsonBlob<T> {
  const opened = openStoredText(stored, keyring, options);
  let value: T;
  try {
    value = JSON.parse(utf8.decode(opened.text)) as T;
  } catch {
    throw new CofferError('INTEGRITY_FAILURE', 'the envelope does not hold JSON text');
  } finally {
    opened.text.fill(0);
  }
  return { value, keyId: opened.keyId, plaintext: opened.keyId === undefined };
}

/** The key id an envelope names, without decrypting; undefined for legacy plaintext. */
export function envelopeKeyId(stored: unknown): string | undefined {
  return isEnvelopeLike(stored) ? parseEnvelope(stored).kid : undefined;
}

/** Opens stored data to JSON text bytes, applying the plaintext policy (internal). */
export function openStoredText(
  stored: unknown,
  keyring: DataKeyring,
  options: DecryptJsonOptions,
): OpenedText {
  const context = checkContext(options?.context);
  if (isEnvelopeLike(stored)) {
    const parts = parseEnvelope(stored);
    const key = keyById(keyring, parts.kid);
    return { text: openEnvelopeParts(key, parts, context), keyId: parts.kid };
  }
  if (options.allowPlaintext !== true) {
    throw new CofferError(
      'PLAINTEXT_REFUSED',
      `the stored value at ${context || 'this context'} is not a coffer envelope (legacy plaintext?)`,
    );
  }
  options.onPlaintext?.(context);
  return { text: Buffer.from(legacyJsonText(stored), 'utf8'), keyId: undefined };
}

/** See the module comment: two or more member names make stored data an envelope. */
export function isEnvelopeLike(stored: unknown): boolean {
  if (typeof stored === 'string') {
    let found = 0;
    for (const m of MARKERS) if (stored.includes(m) && ++found === 2) return true;
    return false;
  }
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) return false;
  return ['coffer', 'kid', 'iv', 'ct'].filter((m) => Object.hasOwn(stored, m)).length >= 2;
}

/** A legacy row as JSON text: JSON text stays, other text becomes a JSON string. */
function legacyJsonText(stored: unknown): string {
  if (typeof stored === 'string') {
    try {
      JSON.parse(stored);
      return stored;
    } catch {
      return JSON.stringify(stored);
    }
  }
  return jsonText(stored);
}

function jsonText(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  if (typeof text !== 'string') {
    throw new TypeError(
      'the value must be JSON-serialisable (no undefined, function, BigInt or cycle)',
    );
  }
  return text;
}

function noKey(keyring: DataKeyring): CofferError {
  if (keyring.ids.length > 0) {
    return new CofferError(
      'DATA_KEY_MISSING',
      `the keyring has no key to encrypt with: ${keyring.ids.join(', ')} may only decrypt`,
      { hint: 'Add a new primary key in COFFER_DATA_KEYS ("k1:<base64 of 32 bytes>").' },
    );
  }
  return new CofferError(
    'DATA_KEY_MISSING',
    'no encryption key is configured (COFFER_DATA_KEYS, WORKFLOWS_ARTIFACT_ENC_KEY or CONNECTOR_SECRET_KEY)',
  );
}
