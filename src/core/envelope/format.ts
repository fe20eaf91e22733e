/**
 * The application envelope, version 1 (docs/format.md section 7, "Application envelopes";
 * vectors in test/vectors/envelope-json-v1.json): one JSON object as text, which fits a TEXT,
 * VARCHAR, JSON or JSONB column:
 *
 *   {"coffer":1,"kid":"k2","iv":"<base64url, 12 bytes>","ct":"<base64url, ciphertext || tag>"}
 *
 * `ct` is AES-256-GCM (node:crypto, the construction of src/core/crypto/aead.ts) of the UTF-8
 * JSON text of the value under the key `kid`, with the 16-byte tag appended. The associated
 * data binds the key id and the caller's context (table, column, row id):
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
import { createCipheriv, randomFillSync } from 'node:crypto';
import { KEY_BYTES, NONCE_BYTES, openAesGcmParts, TAG_BYTES } from '../crypto/aead.js';
import { CofferError } from '../errors.js';

/** The `coffer` member of a version-1 envelope. */
export const ENVELOPE_VERSION = 1;
/** Largest plaintext (UTF-8 JSON text) an envelope may hold: 1 MiB. */
export const MAX_PLAINTEXT_BYTES: number = 1024 * 1024;
/** A key id: 1 to 64 ASCII letters, digits, `.`, `_` or `-`, starting with a letter or digit. */
export const KEY_ID_PATTERN: RegExp = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const AAD_LABEL = 'coffer/json/v1';
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

// Nonces are drawn from a pool of CSPRNG output refilled about 4 KiB at a time: a call of
// randomBytes(12) costs a third as much as sealing 1 KiB, and the bytes are as random either
// way. Nonces are public (they are in every envelope), so holding the next ones in memory
// reveals nothing; each 12-byte slice is used once, synchronously, before any refill. Worker
// threads load their own copy of this module, so they never share a pool.
const NONCE_POOL = Buffer.alloc(NONCE_BYTES * 341);
let noncePoolOffset = NONCE_POOL.length;

function nextNonce(): Buffer {
  if (noncePoolOffset + NONCE_BYTES > NONCE_POOL.length) {
    randomFillSync(NONCE_POOL);
    noncePoolOffset = 0;
  }
  const nonce = NONCE_POOL.subarray(noncePoolOffset, noncePoolOffset + NONCE_BYTES);
  noncePoolOffset += NONCE_BYTES;
  return nonce;
}

/**
 * Seals UTF-8 JSON text (a string, or its bytes) under `key` and returns the envelope text.
 * `nonce` is for the conformance vectors only: a fixed nonce reused under one key breaks
 * AES-GCM, so callers leave it out and get a fresh random one.
 */
export function sealEnvelopeText(
  key: Uint8Array,
  kid: string,
  plaintext: string | Uint8Array,
  context: string,
  nonce: Uint8Array = nextNonce(),
): string {
  // A UTF-8 byte count is at most 3 per UTF-16 unit: count exactly only when it may matter.
  const size =
    typeof plaintext === 'string'
      ? plaintext.length * 3 > MAX_PLAINTEXT_BYTES
        ? Buffer.byteLength(plaintext, 'utf8')
        : plaintext.length
      : plaintext.length;
  if (size > MAX_PLAINTEXT_BYTES) {
    throw new RangeError(`the value is larger than ${MAX_PLAINTEXT_BYTES} bytes as JSON`);
  }
  if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) {
    throw new RangeError(`key must be ${KEY_BYTES} bytes`);
  }
  if (nonce.length !== NONCE_BYTES) throw new RangeError(`nonce must be ${NONCE_BYTES} bytes`);
  // AES-256-GCM as in crypto/aead.ts's sealAesGcm, fed the string directly (no UTF-8 copy)
  // and writing ciphertext || tag into the one buffer that is encoded.
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(envelopeAad(kid, context));
  const body =
    typeof plaintext === 'string' ? cipher.update(plaintext, 'utf8') : cipher.update(plaintext);
  const final = cipher.final(); // empty for GCM, kept for symmetry with any other stream mode
  const ct = Buffer.allocUnsafe(body.length + final.length + TAG_BYTES);
  body.copy(ct, 0);
  final.copy(ct, body.length);
  cipher.getAuthTag().copy(ct, body.length + final.length);
  const iv = Buffer.from(nonce.buffer, nonce.byteOffset, NONCE_BYTES).toString('base64url');
  return `{"coffer":${ENVELOPE_VERSION},"kid":${JSON.stringify(kid)},"iv":"${iv}","ct":"${ct.toString('base64url')}"}`;
}

/** Opens parsed envelope parts with `key`; throws one opaque INTEGRITY_FAILURE on mismatch. */
export function openEnvelopeParts(key: Uint8Array, parts: EnvelopeParts, context: string): Buffer {
  if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) {
    throw new RangeError(`key must be ${KEY_BYTES} bytes`);
  }
  // The parsed parts as they are (no nonce||ct copy).
  const opened = openAesGcmParts(
    key,
    parts.iv,
    parts.ct.subarray(0, parts.ct.length - TAG_BYTES),
    parts.ct.subarray(parts.ct.length - TAG_BYTES),
    envelopeAad(parts.kid, context),
  );
  if (opened === undefined) {
    throw new CofferError('INTEGRITY_FAILURE', 'decryption failed: the envelope is not authentic', {
      hint:
        'The context (table, column, row id) must be the one used to encrypt, and the key with ' +
        'this id must be the same key; otherwise the envelope was changed or copied from another row.',
    });
  }
  return opened;
}

function isEnvelopeObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.hasOwn(v, 'coffer');
}

/**
 * Parses an envelope (text, or an object from a JSON column). Throws UNSUPPORTED_FORMAT for
 * another version, INTEGRITY_FAILURE for anything malformed. Never echoes the input.
 */
export function parseEnvelope(stored: unknown): EnvelopeParts {
  return (typeof stored === 'string' ? parseCanonical(stored) : undefined) ?? readEnvelope(stored);
}

/**
 * The reference reading of `parseEnvelope`, through JSON.parse; `parseEnvelope` tries a fast
 * path first that must agree with it (exported for the test that checks they do).
 */
export function readEnvelope(stored: unknown): EnvelopeParts {
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

const CANONICAL_HEAD = `{"coffer":${ENVELOPE_VERSION},"kid":"`;
const IV_TEXT_CHARS = Math.ceil((NONCE_BYTES * 4) / 3);

/**
 * The fast path for the exact text `sealEnvelopeText` writes, without JSON.parse: about a
 * tenth of the time of opening a 1 KiB envelope. Undefined for anything else (spaces, another
 * member order, escapes, a bad member), which `readEnvelope` then reads or rejects. It
 * accepts nothing JSON.parse would read differently: kid must match KEY_ID_PATTERN and iv
 * and ct must be canonical base64url, so none of them can hold a quote or a backslash.
 */
function parseCanonical(text: string): EnvelopeParts | undefined {
  if (!text.startsWith(CANONICAL_HEAD) || !text.endsWith('"}')) return undefined;
  const kidEnd = text.indexOf('"', CANONICAL_HEAD.length);
  if (kidEnd < 0) return undefined;
  const ivStart = kidEnd + '","iv":"'.length;
  const ctStart = ivStart + IV_TEXT_CHARS + '","ct":"'.length;
  if (
    !text.startsWith('","iv":"', kidEnd) ||
    !text.startsWith('","ct":"', ivStart + IV_TEXT_CHARS) ||
    ctStart > text.length - 2
  ) {
    return undefined;
  }
  const kid = text.slice(CANONICAL_HEAD.length, kidEnd);
  if (!KEY_ID_PATTERN.test(kid)) return undefined;
  const iv = canonicalBase64Url(text.slice(ivStart, ivStart + IV_TEXT_CHARS));
  const ct = canonicalBase64Url(text.slice(ctStart, text.length - 2));
  if (iv === undefined || ct === undefined || ct.length < TAG_BYTES) return undefined;
  return { kid, iv, ct };
}

/**
 * The bytes of canonical unpadded base64url, else undefined. Node's decoder skips characters
 * outside the alphabet, accepts padding, `+` and `/`, and ignores non-zero unused bits in the
 * last character; re-encoding gives only canonical unpadded base64url, so comparing the two
 * rejects all of those in one pass.
 */
function canonicalBase64Url(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}

/** Canonical unpadded base64url only: one spelling per byte string. */
function decodeBase64Url(v: unknown, name: string): Buffer {
  const bytes = typeof v === 'string' ? canonicalBase64Url(v) : undefined;
  if (bytes === undefined) throw malformed(`its ${name} is not canonical unpadded base64url`);
  return bytes;
}

function malformed(why: string): CofferError {
  return new CofferError('INTEGRITY_FAILURE', `not a valid coffer envelope: ${why}`);
}
