/**
 * The application envelope, version 1 (docs/format.md, "Application envelopes"; vectors in
 * test/vectors/envelope-json-v1.json): one JSON object as text, which fits a TEXT, VARCHAR,
 * JSON or JSONB column:
 *
 *   {"coffer":1,"kid":"k2","iv":"<base64url, 12 bytes>","ct":"<base64url, ciphertext || tag>"}
 *
 * `ct` is AES-256-GCM (src/core/crypto/aead.ts) of the UTF-8 JSON text of the value under the
 * key `kid`, with the 16-byte tag appended. The associated data binds the key id and the
 * caller's context (table, column, row id):
 *
 *   AAD = "coffer/json/v1" 0x00 kid 0x00 UTF-8(context)
 *
 * so an envelope copied to another row, or relabelled with another key id, fails to open.
 * Key ids are ASCII without 0x00, and the context comes last, so the encoding is unambiguous.
 *
 * Reading is strict where it matters and lenient where databases differ: whitespace and
 * member order are free (a JSONB column reorders members), but the member set is exact and
 * base64url must be canonical (no padding, no unused bits), so an envelope has one meaning
 * and any change to its bytes is an error. Authentication failures are one opaque
 * INTEGRITY_FAILURE. This module does no I/O and knows nothing of key sources.
 */
import { NONCE_BYTES, openAesGcm, sealAesGcm, TAG_BYTES } from '../crypto/aead.js';
import { CofferError } from '../errors.js';

/** The `coffer` member of a version-1 envelope. */
export const ENVELOPE_VERSION = 1;
/** Largest plaintext (UTF-8 JSON text) an envelope may hold: 1 MiB. */
export const MAX_PLAINTEXT_BYTES: number = 1024 * 1024;
/** A key id: 1 to 64 ASCII letters, digits, `.`, `_` or `-`, starting with a letter or digit. */
export const KEY_ID_PATTERN: RegExp = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const AAD_LABEL = 'coffer/json/v1';
const B64URL = /^[A-Za-z0-9_-]*$/;
// An unpaired UTF-16 surrogate (the `u` flag makes a proper pair one code point, not matched).
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const MEMBERS = ['coffer', 'kid', 'iv', 'ct'] as const;

/** The parsed members of a version-1 envelope. */
export interface EnvelopeParts {
  kid: string;
  iv: Buffer;
  /** Ciphertext with the 16-byte tag at the end. */
  ct: Buffer;
}

/** Checks a context string; it is bound into the AAD, so it must encode to UTF-8 one way. */
export function checkContext(context: unknown): string {
  if (typeof context !== 'string') {
    throw new TypeError('context must be a string (e.g. "external_accounts/access_token/42")');
  }
  if (LONE_SURROGATE.test(context)) {
    throw new RangeError('context must be well-formed Unicode (no unpaired surrogate)');
  }
  return context;
}

export function envelopeAad(kid: string, context: string): Buffer {
  return Buffer.from(`${AAD_LABEL}\u0000${kid}\u0000${context}`, 'utf8');
}

/** Seals UTF-8 JSON text under `key` and returns the envelope text. */
export function sealEnvelopeText(
  key: Uint8Array,
  kid: string,
  plaintext: Uint8Array,
  context: string,
  nonce?: Uint8Array,
): string {
  if (plaintext.length > MAX_PLAINTEXT_BYTES) {
    throw new RangeError(`the value is larger than ${MAX_PLAINTEXT_BYTES} bytes as JSON`);
  }
  const sealed = sealAesGcm(key, plaintext, envelopeAad(kid, context), nonce);
  const iv = sealed.subarray(0, NONCE_BYTES).toString('base64url');
  const ct = sealed.subarray(NONCE_BYTES).toString('base64url');
  return `{"coffer":${ENVELOPE_VERSION},"kid":${JSON.stringify(kid)},"iv":"${iv}","ct":"${ct}"}`;
}

/** Opens parsed envelope parts with `key`; throws one opaque INTEGRITY_FAILURE on mismatch. */
export function openEnvelopeParts(key: Uint8Array, parts: EnvelopeParts, context: string): Buffer {
  try {
    return openAesGcm(key, Buffer.concat([parts.iv, parts.ct]), envelopeAad(parts.kid, context));
  } catch (err) {
    throw new CofferError('INTEGRITY_FAILURE', 'decryption failed: the envelope is not authentic', {
      hint:
        'The context (table, column, row id) must be the one used to encrypt, and the key with ' +
        'this id must be the same key; otherwise the envelope was changed or copied from another row.',
      cause: err,
    });
  }
}

function isEnvelopeObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.hasOwn(v, 'coffer');
}

/**
 * Parses an envelope (text, or an object from a JSON column). Throws UNSUPPORTED_FORMAT for
 * another version, INTEGRITY_FAILURE for anything malformed. Never echoes the input.
 */
export function parseEnvelope(stored: unknown): EnvelopeParts {
  let obj: unknown = stored;
  if (typeof stored === 'string') {
    try {
      obj = JSON.parse(stored);
    } catch {
      throw malformed('it is not valid JSON');
    }
  }
  if (!isEnvelopeObject(obj)) throw malformed('it is not a JSON object with a "coffer" member');
  if (obj.coffer !== ENVELOPE_VERSION) {
    const v = obj.coffer;
    const shown = typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : 'unknown';
    throw new CofferError(
      'UNSUPPORTED_FORMAT',
      `the envelope has format version ${shown}, this coffer reads version ${ENVELOPE_VERSION}`,
    );
  }
  const names = Object.keys(obj);
  if (names.length !== MEMBERS.length || !MEMBERS.every((m) => Object.hasOwn(obj, m))) {
    throw malformed('its members must be exactly coffer, kid, iv and ct');
  }
  const { kid, iv, ct } = obj;
  if (typeof kid !== 'string' || !KEY_ID_PATTERN.test(kid)) throw malformed('its kid is invalid');
  const ivBytes = decodeBase64Url(iv, 'iv');
  const ctBytes = decodeBase64Url(ct, 'ct');
  if (ivBytes.length !== NONCE_BYTES) throw malformed(`its iv is not ${NONCE_BYTES} bytes`);
  if (ctBytes.length < TAG_BYTES) throw malformed('its ct is shorter than the tag');
  return { kid, iv: ivBytes, ct: ctBytes };
}

/** Canonical unpadded base64url only: one spelling per byte string. */
function decodeBase64Url(v: unknown, name: string): Buffer {
  if (typeof v !== 'string' || !B64URL.test(v) || v.length % 4 === 1) {
    throw malformed(`its ${name} is not base64url`);
  }
  const bytes = Buffer.from(v, 'base64url');
  // Node ignores non-zero unused bits in the last character; re-encoding finds them.
  if (bytes.toString('base64url') !== v) throw malformed(`its ${name} is not canonical base64url`);
  return bytes;
}

function malformed(why: string): CofferError {
  return new CofferError('INTEGRITY_FAILURE', `not a valid coffer envelope: ${why}`);
}
