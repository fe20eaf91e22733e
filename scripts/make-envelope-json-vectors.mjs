// Generates test/vectors/envelope-json-v1.json: conformance vectors for coffer's application
// envelopes, version 1 (docs/format.md, "Application envelopes (coffer/envelope), version 1").
//
// A second, independent implementation of that section, written from the spec and NOT from
// src/: it imports nothing but node:crypto and node:fs, builds the associated data and the
// JSON text by hand, and checks its output with its own reader (in the spec's order of
// checks) before writing. If the spec and src/core/envelope/ disagree, the vectors say so.
//
// Deterministic: keys and nonces are the first bytes of
// SHA-256("coffer-envelope-json-v1-vectors/" + label). The vectors are FROZEN at v1: the
// tests read the committed file and never run this script, and the script refuses to
// overwrite a committed file that differs from its output.
//
// Usage:
//   node scripts/make-envelope-json-vectors.mjs           write (only if missing or identical)
//   node scripts/make-envelope-json-vectors.mjs --check   compare with the committed file
//   node scripts/make-envelope-json-vectors.mjs --stdout  print instead of writing
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const OUT = new URL('../test/vectors/envelope-json-v1.json', import.meta.url);

// ---- the format, from docs/format.md ------------------------------------------------------

const VERSION = 1;
const NONCE_LEN = 12;
const TAG_LEN = 16;
const KID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MEMBER_NAMES = ['coffer', 'kid', 'iv', 'ct'];

/** "coffer/json/v1" 0x00 kid 0x00 UTF-8(context) */
function aad(kid, context) {
  return Buffer.concat([
    Buffer.from('coffer/json/v1', 'ascii'),
    Buffer.from([0]),
    Buffer.from(kid, 'ascii'),
    Buffer.from([0]),
    Buffer.from(context, 'utf8'),
  ]);
}

/** Unpadded base64url, written by hand from the RFC 4648 alphabet. */
function b64url(bytes) {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = [18, 12, 6, 0].map((s) => abc[(n >> s) & 63]);
    out += chars.slice(0, Math.min(4, bytes.length - i + 1)).join('');
  }
  return out;
}

function seal(key, kid, nonce, plaintextText, context) {
  const c = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LEN });
  c.setAAD(aad(kid, context));
  const body = Buffer.concat([c.update(Buffer.from(plaintextText, 'utf8')), c.final()]);
  const ct = Buffer.concat([body, c.getAuthTag()]);
  return `{"coffer":${VERSION},"kid":"${kid}","iv":"${b64url(nonce)}","ct":"${b64url(ct)}"}`;
}

/**
 * The reader of the spec, in its order: JSON object with a "coffer" member, else
 * PLAINTEXT_REFUSED (only for input naming fewer than two members); version -> UNSUPPORTED_FORMAT;
 * exact member set, kid grammar, canonical base64url, 12-byte iv, ct >= 16 bytes ->
 * INTEGRITY_FAILURE; kid not in keyring -> KEY_NOT_FOUND; tag -> INTEGRITY_FAILURE.
 */
function open(keyring, stored, context) {
  const named = ['"coffer"', '"kid"', '"iv"', '"ct"'].filter((m) => stored.includes(m)).length;
  if (named < 2) return { error: 'PLAINTEXT_REFUSED' };
  let obj;
  try {
    obj = JSON.parse(stored);
  } catch {
    return { error: 'INTEGRITY_FAILURE' };
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj) || !('coffer' in obj)) {
    return { error: 'INTEGRITY_FAILURE' };
  }
  if (obj.coffer !== VERSION) return { error: 'UNSUPPORTED_FORMAT' };
  const names = Object.keys(obj).sort().join(',');
  if (names !== [...MEMBER_NAMES].sort().join(',')) return { error: 'INTEGRITY_FAILURE' };
  if (typeof obj.kid !== 'string' || !KID.test(obj.kid)) return { error: 'INTEGRITY_FAILURE' };
  const dec = (s) =>
    typeof s === 'string' && /^[A-Za-z0-9_-]*$/.test(s) && b64url(Buffer.from(s, 'base64url')) === s
      ? Buffer.from(s, 'base64url')
      : undefined;
  const iv = dec(obj.iv);
  const ct = dec(obj.ct);
  if (!iv || !ct || iv.length !== NONCE_LEN || ct.length < TAG_LEN) {
    return { error: 'INTEGRITY_FAILURE' };
  }
  const key = keyring.find((k) => k.id === obj.kid);
  if (!key) return { error: 'KEY_NOT_FOUND' };
  const d = createDecipheriv('aes-256-gcm', Buffer.from(key.key, 'hex'), iv, {
    authTagLength: TAG_LEN,
  });
  d.setAAD(aad(obj.kid, context));
  d.setAuthTag(ct.subarray(ct.length - TAG_LEN));
  try {
    const text = Buffer.concat([d.update(ct.subarray(0, ct.length - TAG_LEN)), d.final()]);
    return { value: JSON.parse(text.toString('utf8')) };
  } catch {
    return { error: 'INTEGRITY_FAILURE' };
  }
}

// ---- fixed inputs ---------------------------------------------------------------------------

const fixed = (label, len = 32) =>
  createHash('sha256')
    .update(`coffer-envelope-json-v1-vectors/${label}`, 'utf8')
    .digest()
    .subarray(0, len);
const hex = (b) => Buffer.from(b).toString('hex');
const KEYS = { k1: fixed('key/k1'), k2: fixed('key/k2') };
const ring = (...ids) => ids.map((id) => ({ id, key: hex(KEYS[id]) }));

const seedTokens = {
  access_token: 'ya29.a0-example-access-token',
  refresh_token: '1//0g-example-refresh-token',
  token_type: 'Bearer',
  expires_in: 3599,
  expires_at: 1767225600,
  scope: 'repo read:user',
};
const POSITIVE = [
  [
    'seed-token-fields',
    'the seeds\u2019 token object',
    'k1',
    'external_accounts/access_token/42',
    seedTokens,
  ],
  ['string', 'a bare JSON string', 'k2', 'external_accounts/refresh_token/42', 'gho_exampletoken'],
  ['empty-string', 'the empty string: plaintext is the 2 bytes ""', 'k1', 'ctx', ''],
  ['null', 'JSON null', 'k1', 'ctx', null],
  ['number', 'a number', 'k2', 'settings/value/1', 12.5],
  ['empty-context', 'an empty context is allowed (and binds nothing)', 'k1', '', { a: [] }],
  [
    'unicode',
    'non-ASCII value and context, UTF-8 without normalisation',
    'k2',
    'comptes/jeton/\u00e9t\u00e9-\u79d8',
    { n: 'caf\u00e9 / cafe\u0301 \ud83d\udd11' },
  ],
  [
    'kibibyte',
    'about 1 KiB of JSON (the bench size)',
    'k1',
    'blobs/data/7',
    { data: 'x'.repeat(1000) },
  ],
];

function makePositive([name, description, kid, context, value]) {
  const nonce = fixed(`nonce/${name}`, NONCE_LEN);
  const plaintext = JSON.stringify(value);
  return {
    name,
    description,
    kid,
    key: hex(KEYS[kid]),
    context,
    nonce: hex(nonce),
    plaintext,
    value,
    envelope: seal(KEYS[kid], kid, nonce, plaintext, context),
  };
}

function makeNegatives(pos) {
  const base = pos.find((p) => p.name === 'seed-token-fields');
  const obj = JSON.parse(base.envelope);
  const text = (o) => JSON.stringify(o);
  const flipChar = (s, at) => s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1);
  const ctFlip = (at) => text({ ...obj, ct: flipChar(obj.ct, at) });
  const neg = (name, description, expectedError, over = {}) => ({
    name,
    description,
    expectedError,
    keyring: ring('k1', 'k2'),
    context: base.context,
    stored: base.envelope,
    ...over,
  });
  const I = 'INTEGRITY_FAILURE';
  return [
    neg('wrong-key', 'k1 in the keyring holds another key', I, {
      keyring: [{ id: 'k1', key: hex(fixed('key/other')) }],
    }),
    neg('wrong-context', 'the envelope of row 42 read as row 43', I, {
      context: 'external_accounts/access_token/43',
    }),
    neg('unknown-key-id', 'the keyring no longer has k1', 'KEY_NOT_FOUND', { keyring: ring('k2') }),
    neg('relabelled-key-id', 'kid changed to k2, which is in the keyring', I, {
      stored: text({ ...obj, kid: 'k2' }),
      keyring: [{ id: 'k2', key: hex(KEYS.k1) }],
    }),
    neg('flipped-ciphertext', 'one character of ct changed (first byte of ciphertext)', I, {
      stored: ctFlip(0),
    }),
    neg('flipped-tag', 'last character of ct changed (inside the tag)', I, {
      stored: ctFlip(obj.ct.length - 2),
    }),
    neg('flipped-iv', 'one character of iv changed', I, {
      stored: text({ ...obj, iv: flipChar(obj.iv, 3) }),
    }),
    neg('unknown-version', '"coffer":2', 'UNSUPPORTED_FORMAT', {
      stored: text({ ...obj, coffer: 2 }),
    }),
    neg('version-as-string', '"coffer":"1"', 'UNSUPPORTED_FORMAT', {
      stored: text({ ...obj, coffer: '1' }),
    }),
    neg('truncated-ct', 'ct shorter than the 16-byte tag', I, {
      stored: text({ ...obj, ct: obj.ct.slice(0, 20) }),
    }),
    neg('short-iv', 'iv of 9 bytes', I, { stored: text({ ...obj, iv: obj.iv.slice(0, 12) }) }),
    neg('padded-base64', 'iv with "=" padding', I, { stored: text({ ...obj, iv: `${obj.iv}==` }) }),
    neg('standard-base64', 'ct written with + or / instead of - or _', I, {
      stored: text({ ...obj, ct: `${obj.ct.slice(0, -4)}+/+/` }),
    }),
    neg('extra-member', 'an extra member "alg"', I, { stored: text({ ...obj, alg: 'A256GCM' }) }),
    neg('missing-member', 'no iv member', I, {
      stored: text({ coffer: 1, kid: 'k1', ct: obj.ct }),
    }),
    neg('bad-kid', 'kid with a space', I, { stored: text({ ...obj, kid: 'k 1' }) }),
    neg('not-json', 'the envelope text cut in half', I, { stored: base.envelope.slice(0, 40) }),
    neg('plaintext', 'a legacy plaintext row, read without migration mode', 'PLAINTEXT_REFUSED', {
      stored: JSON.stringify(seedTokens),
    }),
  ];
}

function makeKeyDerivation() {
  const passphrase = 'n3v5Ue7kQ1x0wZb9-connector-secret';
  const idOf = (prefix, key) =>
    `${prefix}-${createHmac('sha256', key).update('coffer/envelope/key-id/v1', 'ascii').digest().subarray(0, 4).toString('hex')}`;
  const hk = Buffer.from(
    hkdfSync(
      'sha256',
      Buffer.from(passphrase, 'utf8'),
      Buffer.alloc(0),
      Buffer.from('coffer/envelope/connector-key/v1', 'ascii'),
      32,
    ),
  );
  const sha = createHash('sha256').update(passphrase, 'utf8').digest();
  const wf = fixed('workflows-key');
  return [
    {
      variable: 'CONNECTOR_SECRET_KEY',
      derivation: 'hkdf-sha256',
      input: passphrase,
      key: hex(hk),
      id: idOf('connector', hk),
      decryptOnly: false,
    },
    {
      variable: 'CONNECTOR_SECRET_KEY',
      derivation: 'sha256',
      input: passphrase,
      key: hex(sha),
      id: idOf('connector-sha256', sha),
      decryptOnly: true,
    },
    {
      variable: 'WORKFLOWS_ARTIFACT_ENC_KEY',
      derivation: 'base64',
      input: wf.toString('base64'),
      key: hex(wf),
      id: idOf('workflows', wf),
      decryptOnly: false,
    },
  ];
}

// ---- self-check and output ------------------------------------------------------------------

const positive = POSITIVE.map(makePositive);
const negative = makeNegatives(positive);
for (const p of positive) {
  const got = open(ring(p.kid), p.envelope, p.context);
  if (got.error || JSON.stringify(got.value) !== p.plaintext)
    throw new Error(`${p.name} does not open`);
  const spaced = JSON.stringify(
    Object.fromEntries(Object.entries(JSON.parse(p.envelope)).reverse()),
    null,
    2,
  );
  if (open(ring(p.kid), spaced, p.context).error)
    throw new Error(`${p.name}: reordered form fails`);
}
const names = new Set();
for (const n of negative) {
  if (names.has(n.name)) throw new Error(`duplicate ${n.name}`);
  names.add(n.name);
  const got = open(n.keyring, n.stored, n.context);
  if (got.error !== n.expectedError)
    throw new Error(`${n.name}: expected ${n.expectedError}, got ${got.error ?? 'a value'}`);
}

const doc = {
  header: {
    format: 'coffer-json-envelope',
    version: 1,
    description:
      'Conformance vectors for coffer application envelopes, version 1 (docs/format.md): ' +
      'AES-256-GCM JSON-text envelopes {"coffer":1,"kid","iv","ct"} with AAD "coffer/json/v1" 0x00 kid 0x00 context. ' +
      'Keys and nonces are hex. Positive vectors: sealing `plaintext` (the JSON text of `value`) with `key`, `nonce` and ' +
      '`context` gives exactly `envelope`, and opening `envelope` gives `value`; a reader must also accept the same ' +
      'members reordered and spaced out. Negative vectors: opening `stored` with `keyring` and `context` must fail ' +
      'with exactly `expectedError` and return no value. keyDerivation: how the single environment variables become keys ' +
      'and ids. Frozen: never regenerate or edit; add a new file for a new version.',
    generatedBy:
      'scripts/make-envelope-json-vectors.mjs (independent implementation using node:crypto only)',
    fixedBytes:
      'keys and nonces are the first bytes of SHA-256("coffer-envelope-json-v1-vectors/" + label)',
  },
  positive,
  negative,
  keyDerivation: makeKeyDerivation(),
};
const out = `${JSON.stringify(doc, null, 2)}\n`;
const args = new Set(process.argv.slice(2));
if (args.has('--stdout')) {
  process.stdout.write(out);
} else {
  const existing = existsSync(OUT) ? readFileSync(OUT, 'utf8') : undefined;
  if (args.has('--check')) {
    if (existing !== out) {
      console.error('envelope-json-v1.json differs from what this script generates');
      process.exit(1);
    }
    console.log('envelope-json-v1.json matches');
  } else if (existing !== undefined && existing !== out) {
    console.error('test/vectors/envelope-json-v1.json exists and differs: v1 vectors are frozen.');
    process.exit(1);
  } else {
    writeFileSync(OUT, out);
    console.log(
      `wrote ${positive.length} positive, ${negative.length} negative, ${doc.keyDerivation.length} key-derivation vectors`,
    );
  }
}
