import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CofferError } from '../errors.js';
import {
  BACKUP_FORMAT,
  BACKUP_VERSION,
  countRows,
  decodeSnapshot,
  encodeSnapshot,
  headerLocation,
  MAX_SOURCE_LOCATION,
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

describe('the header text a restore records', () => {
  const base = fc.sample(snapshot, { numRuns: 1, seed: 7 })[0]!;
  const withHeader = (over: Record<string, unknown>) =>
    encodeSnapshot({ ...base, header: { ...base.header, ...over } as Snapshot['header'] });
  const location = (l: string) => withHeader({ source: { kind: 'sqlite', location: l } });

  it('accepts what coffer writes', () => {
    for (const l of [
      '/srv/vault.db',
      'postgres://app@db:5432/coffer?schema=coffer',
      '/home/zoë/😀/v.db',
    ]) {
      expect(decodeSnapshot(location(l)).header.source.location).toBe(l);
    }
    expect(
      decodeSnapshot(location('x'.repeat(MAX_SOURCE_LOCATION))).header.source.location,
    ).toHaveLength(MAX_SOURCE_LOCATION);
    const year = withHeader({ createdAt: '+010000-01-01T00:00:00.000Z' });
    expect(decodeSnapshot(year).header.createdAt).toBe('+010000-01-01T00:00:00.000Z');
  });

  it('refuses a location that is no printable line or too long, by name and never its text', () => {
    for (const l of [
      '/srv/vault.db\u001b]52;c;ZWNobyBwd25lZA==\u0007',
      '/srv/vault.db\r\u001b[2K',
      '/srv/a\nb',
      '/srv/\u009b2J',
      '/srv/\u2028',
      '/srv/\ud83d',
      'x'.repeat(MAX_SOURCE_LOCATION + 1),
    ]) {
      const err = (() => {
        try {
          decodeSnapshot(location(l));
        } catch (e) {
          return e as CofferError;
        }
        return undefined;
      })();
      expect(err, JSON.stringify(l.slice(0, 40))).toBeInstanceOf(CofferError);
      expect(err!.code).toBe('BACKUP_INVALID');
      expect(err!.message).toContain('line 1: source.location is not one line of printable text');
      expect(err!.message).not.toContain('/srv/');
    }
  });

  it('refuses a time not as coffer writes it, and a store kind that is no name', () => {
    for (const t of [
      'yesterday',
      '2026-01-02',
      '2026-01-02T03:04:05Z',
      '2026-13-02T03:04:05.000Z',
      `2026-01-02T03:04:05.000Z${'\u001b[2K'}`,
      '',
    ]) {
      expect(() => decodeSnapshot(withHeader({ createdAt: t })), t).toThrow(
        /line 1: createdAt is not a time as coffer writes it/,
      );
    }
    for (const kind of ['', 'SQLite', 'sqlite\u001b[2K', 'a b', 'x'.repeat(33)]) {
      expect(() =>
        decodeSnapshot(withHeader({ source: { kind, location: '/srv/vault.db' } })),
      ).toThrow(/line 1: source.kind is not the name of a store kind/);
    }
  });

  it('property: the location coffer writes for any store location reads back', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 2 * MAX_SOURCE_LOCATION }), (l) => {
        const written = headerLocation(l);
        expect(written.length).toBeLessThanOrEqual(MAX_SOURCE_LOCATION);
        expect(decodeSnapshot(location(written)).header.source.location).toBe(written);
      }),
      { numRuns: 200 },
    );
  });
});
