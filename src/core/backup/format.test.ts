import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CofferError } from '../errors.js';
import {
  BACKUP_FORMAT,
  BACKUP_VERSION,
  countRows,
  decodeSnapshot,
  encodeSnapshot,
  type Snapshot,
} from './format.js';

const text = fc.string({ unit: 'binary', maxLength: 40 });
const bytes = fc.uint8Array({ maxLength: 48 }).map((b) => new Uint8Array(b));
const int = fc.integer({ min: 0, max: 2 ** 40 });

const snapshot: fc.Arbitrary<Snapshot> = fc
  .record({
    meta: fc.array(fc.record({ key: text, value: text }), { maxLength: 4 }),
    keks: fc.array(
      fc.record({
        id: text,
        sealed: fc.option(bytes, { nil: null }),
        status: fc.constantFrom('primary' as const, 'retiring' as const, 'retired' as const),
        createdAt: text,
        retiredAt: fc.option(text, { nil: null }),
        mac: fc.option(bytes, { nil: null }),
      }),
      { maxLength: 3 },
    ),
    secrets: fc.array(
      fc.record({
        path: text,
        env: text,
        description: text,
        currentVersion: int,
        tier: fc.option(int, { nil: null }),
        rotation: fc.option(text, { nil: null }),
        envVar: fc.option(text, { nil: null }),
        localOnly: fc.boolean(),
        generator: fc.option(text, { nil: null }),
        createdAt: text,
        updatedAt: text,
        deletedAt: fc.option(text, { nil: null }),
        mac: fc.option(bytes, { nil: null }),
      }),
      { maxLength: 3 },
    ),
    versions: fc.array(
      fc.record({
        path: text,
        env: text,
        version: int,
        kekId: text,
        wrappedDek: bytes,
        ciphertext: bytes,
        createdAt: text,
        actor: text,
      }),
      { maxLength: 3 },
    ),
    tokens: fc.array(
      fc.record({
        id: text,
        name: text,
        hash: text,
        allow: fc.array(text, { maxLength: 3 }),
        envs: fc.array(text, { maxLength: 3 }),
        caps: fc.subarray(['read' as const, 'list' as const, 'write' as const, 'admin' as const]),
        createdAt: text,
        expiresAt: fc.option(text, { nil: null }),
        revokedAt: fc.option(text, { nil: null }),
        mac: fc.option(bytes, { nil: null }),
      }),
      { maxLength: 2 },
    ),
    audit: fc.array(
      fc.record({
        seq: int,
        ts: text,
        actor: text,
        action: text,
        path: fc.option(text, { nil: null }),
        env: fc.option(text, { nil: null }),
        version: fc.option(int, { nil: null }),
        outcome: text,
        detail: fc.option(text, { nil: null }),
        prevHash: text,
        hash: text,
      }),
      { maxLength: 3 },
    ),
    masterKey: fc.option(
      fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => new Uint8Array(b)),
      { nil: undefined },
    ),
  })
  .map((rows) => {
    const last = rows.audit[rows.audit.length - 1];
    return {
      ...rows,
      header: {
        format: BACKUP_FORMAT,
        version: BACKUP_VERSION,
        source: { kind: 'sqlite', location: '/srv/vault.db' },
        createdAt: '2026-01-02T03:04:05.000Z',
        vaultFormat: '2',
        counts: countRows(rows),
        auditHead: last === undefined ? null : { seq: last.seq, hash: last.hash },
        masterKeyIncluded: rows.masterKey !== undefined,
      },
    };
  });

describe('backup plaintext format', () => {
  it('decode(encode(snapshot)) is the snapshot, for any text and bytes', () => {
    fc.assert(
      fc.property(snapshot, (s) => {
        expect(decodeSnapshot(encodeSnapshot(s))).toEqual(s);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses any single changed byte (the end digest covers every line)', () => {
    fc.assert(
      fc.property(snapshot, fc.nat(), fc.integer({ min: 1, max: 255 }), (s, at, x) => {
        const plain = encodeSnapshot(s);
        plain[at % plain.length]! ^= x;
        expect(() => decodeSnapshot(plain)).toThrow(CofferError);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a cut file, another format and a newer version by name', () => {
    const s = fc.sample(snapshot, 1)[0]!;
    const plain = encodeSnapshot(s);
    expect(() => decodeSnapshot(plain.subarray(0, plain.length - 5))).toThrow(/damaged/);
    expect(() => decodeSnapshot(new TextEncoder().encode('{"format":"other"}\n'))).toThrow(
      /not a coffer backup/,
    );
    const newer = new TextEncoder().encode(
      `${JSON.stringify({ ...s.header, version: 2 })}\n{"t":"end","sha256":""}\n`,
    );
    expect(() => decodeSnapshot(newer)).toThrow(/format version 2; this coffer reads version 1/);
  });
});
