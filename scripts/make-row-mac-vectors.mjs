/**
 * Writes test/vectors/row-mac-v1.json: conformance vectors for the row MACs and the
 * version-2 master-key check of docs/format.md ("Row MACs"). Written from the document with
 * node:crypto only, independently of src/, so the vectors check the implementation rather
 * than repeat it. Run once; the file is frozen afterwards.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';

const masterKey = Buffer.from(
  '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
  'hex',
);
const vaultId = Buffer.from('f0e1d2c3b4a5968778695a4b3c2d1e0f', 'hex');
const rowKey = Buffer.from(
  hkdfSync('sha256', masterKey, Buffer.alloc(0), 'coffer/subkey/v1 row-mac', 32),
);

const u32 = (n) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const enc = {
  null: () => Buffer.from([0]),
  text: (s) => {
    const b = Buffer.from(s, 'utf8');
    return Buffer.concat([Buffer.from([1]), u32(b.length), b]);
  },
  int: (n) => {
    const b = Buffer.alloc(9);
    b[0] = 2;
    b.writeBigInt64BE(BigInt(n), 1);
    return b;
  },
  bool: (v) => Buffer.from([3, v ? 1 : 0]),
  bytes: (b) => Buffer.concat([Buffer.from([4]), u32(b.length), b]),
  texts: (list) =>
    Buffer.concat([
      Buffer.from([5]),
      u32(list.length),
      ...list.map((s) => {
        const b = Buffer.from(s, 'utf8');
        return Buffer.concat([u32(b.length), b]);
      }),
    ]),
};
const textOrNull = (v) => (v === null ? enc.null() : enc.text(v));

const COLUMNS = {
  keks: (r) => [
    enc.text(r.id),
    enc.text(r.status),
    r.sealed === null ? enc.null() : enc.bytes(Buffer.from(r.sealed, 'hex')),
    enc.text(r.createdAt),
    textOrNull(r.retiredAt),
  ],
  secrets: (r) => [
    enc.text(r.path),
    enc.text(r.env),
    enc.text(r.description),
    enc.int(r.currentVersion),
    r.tier === null ? enc.null() : enc.int(r.tier),
    textOrNull(r.rotation),
    textOrNull(r.envVar),
    enc.bool(r.localOnly),
    textOrNull(r.generator),
    enc.text(r.createdAt),
    enc.text(r.updatedAt),
    textOrNull(r.deletedAt),
  ],
  tokens: (r) => [
    enc.text(r.id),
    enc.text(r.name),
    enc.text(r.hash),
    enc.texts(r.allow),
    enc.texts(r.envs),
    enc.texts(r.caps),
    enc.text(r.createdAt),
    textOrNull(r.expiresAt),
    textOrNull(r.revokedAt),
  ],
};

const rows = [
  [
    'primary KEK',
    'keks',
    {
      id: 'k1',
      status: 'primary',
      sealed: `01${'ab'.repeat(60)}`,
      createdAt: '2025-01-01T00:00:00.000Z',
      retiredAt: null,
    },
  ],
  [
    'retired KEK (sealed bytes erased)',
    'keks',
    {
      id: 'k1',
      status: 'retired',
      sealed: null,
      createdAt: '2025-01-01T00:00:00.000Z',
      retiredAt: '2025-06-01T00:00:00.000Z',
    },
  ],
  [
    'secret, every field set',
    'secrets',
    {
      path: 'project/consilio/stripe_api_key',
      env: 'prod',
      description: 'Stripe API key for payment processing (caf\u00e9 \u{1F511})',
      currentVersion: 7,
      tier: 2,
      rotation: '90d',
      envVar: 'STRIPE_KEY',
      localOnly: true,
      generator: 'hex:32',
      createdAt: '2025-01-01T00:00:00.000Z',
      updatedAt: '2025-02-01T00:00:00.000Z',
      deletedAt: null,
    },
  ],
  [
    'secret, deleted, nullable fields null',
    'secrets',
    {
      path: 'meta/cloudflare/api_token',
      env: 'dev',
      description: 'Cloudflare API token for DNS updates',
      currentVersion: 1,
      tier: null,
      rotation: null,
      envVar: null,
      localOnly: false,
      generator: null,
      createdAt: '2025-01-01T00:00:00.000Z',
      updatedAt: '2025-03-01T00:00:00.000Z',
      deletedAt: '2025-03-01T00:00:00.000Z',
    },
  ],
  [
    'secret, current version rolled back (differs from the one above only there)',
    'secrets',
    {
      path: 'project/consilio/stripe_api_key',
      env: 'prod',
      description: 'Stripe API key for payment processing (caf\u00e9 \u{1F511})',
      currentVersion: 6,
      tier: 2,
      rotation: '90d',
      envVar: 'STRIPE_KEY',
      localOnly: true,
      generator: 'hex:32',
      createdAt: '2025-01-01T00:00:00.000Z',
      updatedAt: '2025-02-01T00:00:00.000Z',
      deletedAt: null,
    },
  ],
  [
    'token',
    'tokens',
    {
      id: '0123456789abcdef',
      name: 'deploy',
      hash: 'cd'.repeat(32),
      allow: ['project/app/*', 'meta/ci/*'],
      envs: ['staging', 'prod'],
      caps: ['read', 'list'],
      createdAt: '2025-01-01T00:00:00.000Z',
      expiresAt: '2025-04-01T00:00:00.000Z',
      revokedAt: null,
    },
  ],
  [
    'token, revoked, no environments',
    'tokens',
    {
      id: '0123456789abcdef',
      name: 'deploy',
      hash: 'cd'.repeat(32),
      allow: ['**'],
      envs: [],
      caps: ['admin'],
      createdAt: '2025-01-01T00:00:00.000Z',
      expiresAt: null,
      revokedAt: '2025-02-01T00:00:00.000Z',
    },
  ],
];

const vectors = rows.map(([name, table, row]) => {
  const input = Buffer.concat([
    Buffer.from('coffer/row-mac/v1\0', 'latin1'),
    vaultId,
    enc.text(table),
    ...COLUMNS[table](row),
  ]);
  const mac = createHmac('sha256', rowKey).update(input).digest();
  return { name, table, row, input: input.toString('hex'), mac: mac.toString('hex') };
});

const check = createHmac('sha256', masterKey)
  .update(Buffer.concat([Buffer.from('coffer/master-key-check/v2\0', 'latin1'), vaultId]))
  .digest('base64');

writeFileSync(
  new URL('../test/vectors/row-mac-v1.json', import.meta.url),
  `${JSON.stringify(
    {
      description:
        'Row MACs and the version-2 master-key check (docs/format.md, "Row MACs"). Byte values are hex; a KEK row\'s sealed is hex or null.',
      masterKey: masterKey.toString('hex'),
      vaultId: vaultId.toString('hex'),
      rowMacKey: rowKey.toString('hex'),
      masterCheckV2: `v2:${vaultId.toString('hex')}:${check}`,
      vectors,
    },
    null,
    2,
  )}\n`,
);
