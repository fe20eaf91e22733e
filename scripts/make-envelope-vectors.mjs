// Generates test/vectors/envelope-v1.json: conformance vectors for the coffer vault format,
// version 1 (docs/format.md).
//
// This is a second, independent implementation of the spec, written from docs/format.md and
// NOT from src/: it imports nothing but node:crypto and node:fs, builds every associated-data
// string byte by byte, and checks its own output with its own reader before writing. If the
// spec and src/core/crypto/envelope.ts ever disagree, the vectors catch it.
//
// Everything is deterministic: keys and nonces are the first bytes of
// SHA-256("coffer-envelope-v1-vectors/" + label), so running the script twice gives the same
// file. The vectors are FROZEN at v1. The tests read the committed file as data and never run
// this script; the script refuses to overwrite a committed file that differs from its output.
//
// Usage:
//   node scripts/make-envelope-vectors.mjs           write the file (only if missing or identical)
//   node scripts/make-envelope-vectors.mjs --check   compare with the committed file, exit 1 on drift
//   node scripts/make-envelope-vectors.mjs --stdout  print the JSON instead of writing it
import { createCipheriv, createDecipheriv, createHash, createHmac, scryptSync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const OUT = new URL('../test/vectors/envelope-v1.json', import.meta.url);

// ---- the format, from docs/format.md ---------------------------------------------------------

const FORMAT_BYTE = 0x01;
const NONCE_LEN = 12;
const TAG_LEN = 16;
const KEY_LEN = 32;
const WRAPPED_LEN = 1 + NONCE_LEN + KEY_LEN + TAG_LEN; // 61

/** A field of an associated-data string: UTF-8 bytes that must not contain 0x00. */
function field(text) {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.includes(0)) throw new Error(`AAD field contains 0x00: ${JSON.stringify(text)}`);
  return bytes;
}

/** Canonical decimal: no sign, no leading zeros, no exponent; 1 .. 2^53-1. */
function decimal(version) {
  if (!Number.isSafeInteger(version) || version < 1) throw new Error(`bad version ${version}`);
  return version.toString(10);
}

/** label 0x00 f1 0x00 f2 ... (fields given as raw byte buffers). */
function joinAad(label, fields) {
  const parts = [Buffer.from(label, 'ascii')];
  for (const f of fields) parts.push(Buffer.from([0x00]), f);
  return Buffer.concat(parts);
}

const valueAad = (path, env, versionText) =>
  joinAad('coffer/value/v1', [field(path), field(env), Buffer.from(versionText, 'ascii')]);
const dekAad = (kekId, path, env, version) =>
  joinAad('coffer/dek/v1', [field(kekId), field(path), field(env), field(decimal(version))]);
const kekAad = (kekId) => joinAad('coffer/kek/v1', [field(kekId)]);

/** 0x01 || nonce || AES-256-GCM(key, nonce, plaintext, aad) || tag */
function seal(key, nonce, plaintext, aad, formatByte = FORMAT_BYTE) {
  if (key.length !== KEY_LEN || nonce.length !== NONCE_LEN) throw new Error('bad key/nonce size');
  const c = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LEN });
  c.setAAD(aad);
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([Buffer.from([formatByte]), nonce, body, c.getAuthTag()]);
}

/**
 * The reader of docs/format.md section "Reading a sealed object", in its order:
 * empty -> INTEGRITY_FAILURE; format byte != 0x01 -> UNSUPPORTED_FORMAT; a wrapped DEK that
 * is not 61 bytes, or anything shorter than 29 bytes -> INTEGRITY_FAILURE; tag mismatch ->
 * INTEGRITY_FAILURE; a KEK or DEK plaintext that is not 32 bytes -> INTEGRITY_FAILURE.
 * Returns { bytes } or { error }.
 */
function open(kind, key, sealed, aad) {
  if (sealed.length === 0) return { error: 'INTEGRITY_FAILURE' };
  if (sealed[0] !== FORMAT_BYTE) return { error: 'UNSUPPORTED_FORMAT' };
  if (kind === 'dek' && sealed.length !== WRAPPED_LEN) return { error: 'INTEGRITY_FAILURE' };
  if (sealed.length < 1 + NONCE_LEN + TAG_LEN) return { error: 'INTEGRITY_FAILURE' };
  const nonce = sealed.subarray(1, 1 + NONCE_LEN);
  const body = sealed.subarray(1 + NONCE_LEN, sealed.length - TAG_LEN);
  const tag = sealed.subarray(sealed.length - TAG_LEN);
  const d = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LEN });
  d.setAAD(aad);
  d.setAuthTag(tag);
  let bytes;
  try {
    bytes = Buffer.concat([d.update(body), d.final()]);
  } catch {
    return { error: 'INTEGRITY_FAILURE' };
  }
  if (kind !== 'value' && bytes.length !== KEY_LEN) return { error: 'INTEGRITY_FAILURE' };
  return { bytes };
}

const masterCheck = (masterKey) =>
  createHmac('sha256', masterKey).update('coffer/master-key-check/v1', 'ascii').digest('base64');

// ---- fixed inputs ----------------------------------------------------------------------------

/** The first `len` bytes of SHA-256("coffer-envelope-v1-vectors/" + label). */
function fixed(label, len = KEY_LEN) {
  return createHash('sha256')
    .update(`coffer-envelope-v1-vectors/${label}`, 'utf8')
    .digest()
    .subarray(0, len);
}

const hex = (b) => Buffer.from(b).toString('hex');
const flip = (buf, index, mask = 0x01) => {
  const out = Buffer.from(buf);
  out[index] ^= mask;
  return out;
};

const MASTER_KEY = fixed('master-key');
const KEKS = { k1: fixed('kek/k1'), k7: fixed('kek/k7') };

/** Exactly 1024 bytes of ASCII text, 16 lines of 64 bytes. */
function kibibyteText() {
  let s = '';
  for (let i = 0; s.length < 1024; i++) {
    s += `line ${String(i).padStart(2, '0')}: the quick brown fox jumps over the lazy dog 0123\n`;
  }
  return s.slice(0, 1024);
}

const POSITIVE_INPUTS = [
  {
    name: 'empty-value',
    description: 'empty plaintext: the sealed value is the 29-byte header and tag only',
    kekId: 'k1',
    path: 'project/consilio/stripe_api_key',
    env: 'dev',
    version: 1,
    plaintext: '',
  },
  {
    name: 'ascii-value',
    description: 'a short ASCII value',
    kekId: 'k1',
    path: 'project/consilio/stripe_api_key',
    env: 'prod',
    version: 2,
    plaintext: 'correct horse battery staple',
  },
  {
    name: 'unicode-value',
    description:
      'non-ASCII value, stored as UTF-8 without normalisation (composed and decomposed é differ)',
    kekId: 'k7',
    path: 'meta/cloudflare/api_token',
    env: 'staging',
    version: 3,
    plaintext: 'pässwörd – 秘密 🔑 caf\u00e9 / cafe\u0301',
  },
  {
    name: 'kibibyte-value',
    description: 'a 1024-byte value (16 blocks) under kek k7, environment with - and _',
    kekId: 'k7',
    path: 'project/billing/tls_bundle',
    env: 'pre-prod_2',
    version: 12,
    plaintext: kibibyteText(),
  },
  {
    name: 'control-characters-and-large-version',
    description:
      'a value with newline, tab, quotes, backslash and U+0000; version 2^32+1 (decimal, not a 32-bit field)',
    kekId: 'k1',
    path: 'meta/github/deploy_token',
    env: 'prod',
    version: 4294967297,
    plaintext: 'line one\nline\ttwo "quoted" \\back\\ nul:\u0000:end',
  },
  {
    name: 'max-safe-version',
    description: 'version 2^53-1, the largest version a reader must accept',
    kekId: 'k7',
    path: 'project/a/b',
    env: 'x',
    version: Number.MAX_SAFE_INTEGER,
    plaintext: 'v',
  },
];

// ---- vector construction ---------------------------------------------------------------------

function makePositive(input) {
  const kek = KEKS[input.kekId];
  const kekNonce = fixed(`kek-nonce/${input.kekId}`, NONCE_LEN);
  const dek = fixed(`dek/${input.name}`);
  const wrapNonce = fixed(`wrap-nonce/${input.name}`, NONCE_LEN);
  const valueNonce = fixed(`value-nonce/${input.name}`, NONCE_LEN);
  const plaintext = Buffer.from(input.plaintext, 'utf8');
  const { path, env, version, kekId } = input;
  return {
    name: input.name,
    description: input.description,
    masterKey: hex(MASTER_KEY),
    masterCheck: masterCheck(MASTER_KEY),
    kekId,
    kek: hex(kek),
    kekNonce: hex(kekNonce),
    sealedKek: hex(seal(MASTER_KEY, kekNonce, kek, kekAad(kekId))),
    path,
    env,
    version,
    dek: hex(dek),
    wrapNonce: hex(wrapNonce),
    wrappedDek: hex(seal(kek, wrapNonce, dek, dekAad(kekId, path, env, version))),
    valueNonce: hex(valueNonce),
    ciphertext: hex(seal(dek, valueNonce, plaintext, valueAad(path, env, decimal(version)))),
    plaintext: input.plaintext,
    plaintextHex: hex(plaintext),
  };
}

function makeNegatives(positives) {
  const base = positives.find((p) => p.name === 'ascii-value');
  const other = positives.find((p) => p.name === 'unicode-value');
  const b = (h) => Buffer.from(h, 'hex');
  const sealedKek = b(base.sealedKek);
  const wrapped = b(base.wrappedDek);
  const ct = b(base.ciphertext);
  const slot = { path: base.path, env: base.env, version: base.version };
  const kekCase = (name, description, expectedError, over) => ({
    name,
    description,
    operation: 'openKek',
    expectedError,
    masterKey: base.masterKey,
    kekId: base.kekId,
    sealedKek: base.sealedKek,
    ...over,
  });
  const dekCase = (name, description, expectedError, over) => ({
    name,
    description,
    operation: 'unwrapDataKey',
    expectedError,
    kek: base.kek,
    kekId: base.kekId,
    wrappedDek: base.wrappedDek,
    ...slot,
    ...over,
  });
  const valueCase = (name, description, expectedError, over) => ({
    name,
    description,
    operation: 'openValue',
    expectedError,
    dek: base.dek,
    ciphertext: base.ciphertext,
    ...slot,
    ...over,
  });
  const secretCase = (name, description, expectedError, over) => ({
    name,
    description,
    operation: 'openSecret',
    expectedError,
    kek: base.kek,
    kekId: base.kekId,
    wrappedDek: base.wrappedDek,
    ciphertext: base.ciphertext,
    ...slot,
    ...over,
  });
  const I = 'INTEGRITY_FAILURE';
  const U = 'UNSUPPORTED_FORMAT';
  // Offsets in a sealed object: 0 format byte, 1..12 nonce, 13..len-17 body, last 16 tag.
  const NONCE_AT = 1 + 5;
  const BODY_AT = 1 + NONCE_LEN + 3;
  const TAG_AT = (buf) => buf.length - 1;

  const shortKek = seal(
    MASTER_KEY,
    fixed('short-kek-nonce', NONCE_LEN),
    fixed('short-kek', 16),
    kekAad('k1'),
  );
  const leadingZero = seal(
    b(base.dek),
    fixed('leading-zero-nonce', NONCE_LEN),
    Buffer.from(base.plaintext, 'utf8'),
    valueAad(base.path, base.env, `0${decimal(base.version)}`),
  );

  return [
    // sealed KEK
    kekCase('kek-wrong-master-key', 'sealed KEK opened with another master key', I, {
      masterKey: hex(fixed('wrong-master-key')),
    }),
    kekCase('kek-moved-to-another-id', 'sealed KEK of k1 presented as k2', I, { kekId: 'k2' }),
    kekCase('kek-flipped-format-byte', 'format byte 0x01 -> 0x00', U, {
      sealedKek: hex(flip(sealedKek, 0)),
    }),
    kekCase('kek-flipped-nonce', 'one bit of the nonce flipped', I, {
      sealedKek: hex(flip(sealedKek, NONCE_AT, 0x80)),
    }),
    kekCase('kek-flipped-body', 'one bit of the encrypted key flipped', I, {
      sealedKek: hex(flip(sealedKek, BODY_AT)),
    }),
    kekCase('kek-flipped-tag', 'one bit of the tag flipped', I, {
      sealedKek: hex(flip(sealedKek, TAG_AT(sealedKek))),
    }),
    kekCase('kek-format-v2', 'format byte 0x02, rest unchanged', U, {
      sealedKek: hex(Buffer.concat([Buffer.from([0x02]), sealedKek.subarray(1)])),
    }),
    kekCase('kek-truncated', 'last byte removed', I, {
      sealedKek: hex(sealedKek.subarray(0, sealedKek.length - 1)),
    }),
    kekCase('kek-empty', 'zero bytes', I, { sealedKek: '' }),
    kekCase(
      'kek-authentic-but-16-bytes',
      'authentic sealed object whose plaintext is 16 bytes, not a 32-byte key',
      I,
      { sealedKek: hex(shortKek) },
    ),

    // wrapped DEK
    dekCase('dek-wrong-kek', 'wrapped DEK opened with another KEK under the same id', I, {
      kek: other.kek,
    }),
    dekCase('dek-moved-to-another-kek-id', 'same KEK bytes, but the row says kek k7', I, {
      kekId: 'k7',
    }),
    dekCase('dek-moved-to-another-path', 'wrapped DEK copied to another path', I, {
      path: 'project/consilio/other_key',
    }),
    dekCase('dek-moved-to-another-env', 'wrapped DEK copied to another environment', I, {
      env: 'staging',
    }),
    dekCase('dek-moved-to-another-version', 'wrapped DEK copied to another version', I, {
      version: base.version + 1,
    }),
    dekCase('dek-flipped-format-byte', 'format byte 0x01 -> 0x00', U, {
      wrappedDek: hex(flip(wrapped, 0)),
    }),
    dekCase('dek-flipped-nonce', 'one bit of the nonce flipped', I, {
      wrappedDek: hex(flip(wrapped, NONCE_AT, 0x80)),
    }),
    dekCase('dek-flipped-body', 'one bit of the encrypted DEK flipped', I, {
      wrappedDek: hex(flip(wrapped, BODY_AT)),
    }),
    dekCase('dek-flipped-tag', 'one bit of the tag flipped', I, {
      wrappedDek: hex(flip(wrapped, TAG_AT(wrapped))),
    }),
    dekCase('dek-format-v2', 'format byte 0x02, rest unchanged', U, {
      wrappedDek: hex(Buffer.concat([Buffer.from([0x02]), wrapped.subarray(1)])),
    }),
    dekCase(
      'dek-format-v2-other-length',
      'format byte 0x02 and 40 bytes: the format byte is checked before the length',
      U,
      { wrappedDek: hex(Buffer.concat([Buffer.from([0x02]), wrapped.subarray(1, 40)])) },
    ),
    dekCase('dek-truncated', 'last byte removed (60 bytes)', I, {
      wrappedDek: hex(wrapped.subarray(0, WRAPPED_LEN - 1)),
    }),
    dekCase('dek-extended', 'one 0x00 byte appended (62 bytes)', I, {
      wrappedDek: hex(Buffer.concat([wrapped, Buffer.from([0])])),
    }),
    dekCase('dek-format-byte-only', 'only the format byte', I, { wrappedDek: '01' }),
    dekCase('dek-empty', 'zero bytes', I, { wrappedDek: '' }),

    // sealed value
    valueCase('value-wrong-dek', 'sealed value opened with another data key', I, {
      dek: other.dek,
    }),
    valueCase('value-moved-to-another-path', 'ciphertext copied to another path', I, {
      path: 'project/consilio/other_key',
    }),
    valueCase('value-moved-to-another-env', 'ciphertext copied to another environment', I, {
      env: 'staging',
    }),
    valueCase('value-moved-to-another-version', 'ciphertext copied to another version', I, {
      version: base.version + 1,
    }),
    valueCase(
      'value-version-with-leading-zero',
      'sealed with the version written "02" in the AAD; the version must be canonical decimal',
      I,
      { ciphertext: hex(leadingZero) },
    ),
    valueCase('value-flipped-format-byte', 'format byte 0x01 -> 0x00', U, {
      ciphertext: hex(flip(ct, 0)),
    }),
    valueCase('value-flipped-nonce', 'one bit of the nonce flipped', I, {
      ciphertext: hex(flip(ct, NONCE_AT, 0x80)),
    }),
    valueCase('value-flipped-body', 'one bit of the encrypted value flipped', I, {
      ciphertext: hex(flip(ct, BODY_AT)),
    }),
    valueCase('value-flipped-tag', 'one bit of the tag flipped', I, {
      ciphertext: hex(flip(ct, TAG_AT(ct))),
    }),
    valueCase('value-format-v2', 'format byte 0x02, rest unchanged', U, {
      ciphertext: hex(Buffer.concat([Buffer.from([0x02]), ct.subarray(1)])),
    }),
    valueCase('value-truncated', 'last byte removed', I, {
      ciphertext: hex(ct.subarray(0, ct.length - 1)),
    }),
    valueCase('value-shorter-than-header', '28 bytes: less than format byte + nonce + tag', I, {
      ciphertext: hex(ct.subarray(0, 28)),
    }),
    valueCase('value-empty', 'zero bytes', I, { ciphertext: '' }),
    valueCase(
      'value-is-a-wrapped-dek',
      'a wrapped DEK opened as a sealed value under its KEK: the labels separate the two',
      I,
      { dek: base.kek, ciphertext: base.wrappedDek },
    ),

    // a whole row
    secretCase('secret-wrong-kek', 'a row opened with another KEK', I, { kek: other.kek }),
    secretCase(
      'secret-ciphertext-from-another-row',
      "this row's wrapped DEK with another row's ciphertext",
      I,
      { ciphertext: other.ciphertext },
    ),
    secretCase('secret-moved-to-another-path', 'the whole row copied to another path', I, {
      path: 'project/consilio/other_key',
    }),
  ];
}

/** Passphrase-derived master keys (scrypt, cheap parameters). */
function makeKdfVectors() {
  const params = { logN: 10, r: 8, p: 1, salt: fixed('scrypt-salt', 16).toString('base64') };
  const derive = (pass) =>
    scryptSync(pass.normalize('NFC'), Buffer.from(params.salt, 'base64'), KEY_LEN, {
      N: 2 ** params.logN,
      r: params.r,
      p: params.p,
    });
  const out = [];
  for (const [name, passphrase] of [
    ['composed', 'caf\u00e9 coffer passphrase'],
    ['decomposed', 'cafe\u0301 coffer passphrase'],
    ['ascii', 'correct horse battery staple'],
  ]) {
    const key = derive(passphrase);
    out.push({
      name,
      passphrase,
      passphraseHex: hex(Buffer.from(passphrase, 'utf8')),
      kdf: params,
      metaKdf: JSON.stringify(params),
      masterKey: hex(key),
      masterCheck: masterCheck(key),
    });
  }
  return out;
}

// ---- self-check with this script's own reader ------------------------------------------------

function runCase(v) {
  const b = (h) => Buffer.from(h, 'hex');
  switch (v.operation) {
    case 'openKek':
      return open('kek', b(v.masterKey), b(v.sealedKek), kekAad(v.kekId));
    case 'unwrapDataKey':
      return open('dek', b(v.kek), b(v.wrappedDek), dekAad(v.kekId, v.path, v.env, v.version));
    case 'openValue':
      return open('value', b(v.dek), b(v.ciphertext), valueAad(v.path, v.env, decimal(v.version)));
    case 'openSecret': {
      const dek = open('dek', b(v.kek), b(v.wrappedDek), dekAad(v.kekId, v.path, v.env, v.version));
      if (dek.error) return dek;
      return open('value', dek.bytes, b(v.ciphertext), valueAad(v.path, v.env, decimal(v.version)));
    }
    default:
      throw new Error(`unknown operation ${v.operation}`);
  }
}

function selfCheck(doc) {
  for (const p of doc.positive) {
    const base = { ...p, operation: 'openSecret' };
    const kek = runCase({ ...base, operation: 'openKek' });
    const value = runCase(base);
    if (kek.error || hex(kek.bytes) !== p.kek) throw new Error(`${p.name}: KEK does not open`);
    if (value.error || value.bytes.toString('utf8') !== p.plaintext) {
      throw new Error(`${p.name}: value does not open`);
    }
  }
  const names = new Set();
  for (const n of doc.negative) {
    if (names.has(n.name)) throw new Error(`duplicate name ${n.name}`);
    names.add(n.name);
    const got = runCase(n);
    if (got.error !== n.expectedError) {
      throw new Error(`${n.name}: expected ${n.expectedError}, got ${got.error ?? 'bytes'}`);
    }
  }
}

// ---- main ------------------------------------------------------------------------------------

const positive = POSITIVE_INPUTS.map(makePositive);
const doc = {
  header: {
    format: 'coffer-envelope',
    version: 1,
    description:
      'Conformance vectors for the coffer vault format, version 1 (docs/format.md): sealed KEKs, ' +
      'wrapped DEKs and sealed values (AES-256-GCM, format byte 0x01). Byte strings are lowercase ' +
      'hex; plaintext and passphrase are the UTF-8 strings (also given as hex). Positive vectors ' +
      'must open to their plaintext and, sealed with their fixed nonces, reproduce their bytes ' +
      'exactly. Negative vectors must fail with exactly expectedError and return no bytes. ' +
      'Frozen: never regenerate or edit; add a new file for a new format.',
    generatedBy:
      'scripts/make-envelope-vectors.mjs (independent implementation using node:crypto only)',
    fixedBytes:
      'keys and nonces are the first bytes of SHA-256("coffer-envelope-v1-vectors/" + label)',
    operations: {
      openKek: 'masterKey, kekId, sealedKek -> the 32-byte KEK',
      unwrapDataKey: 'kek, kekId, wrappedDek, path, env, version -> the 32-byte DEK',
      openValue: 'dek, ciphertext, path, env, version -> the plaintext',
      openSecret: 'kek, kekId, wrappedDek, ciphertext, path, env, version -> the plaintext',
    },
  },
  positive,
  negative: makeNegatives(positive),
  kdf: makeKdfVectors(),
};
selfCheck(doc);
const text = `${JSON.stringify(doc, null, 2)}\n`;

const args = new Set(process.argv.slice(2));
if (args.has('--stdout')) {
  process.stdout.write(text);
} else {
  const existing = existsSync(OUT) ? readFileSync(OUT, 'utf8') : undefined;
  if (args.has('--check')) {
    if (existing !== text) {
      console.error('envelope-v1.json differs from what this script generates');
      process.exit(1);
    }
    console.log('envelope-v1.json matches');
  } else if (existing !== undefined && existing !== text) {
    console.error(
      'test/vectors/envelope-v1.json exists and differs: v1 vectors are frozen. ' +
        'Add a new vector file for a new format instead of changing this one.',
    );
    process.exit(1);
  } else {
    writeFileSync(OUT, text);
    console.log(
      `wrote ${doc.positive.length} positive, ${doc.negative.length} negative, ` +
        `${doc.kdf.length} kdf vectors`,
    );
  }
}
