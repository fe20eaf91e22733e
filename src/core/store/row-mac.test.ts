/**
 * The row MACs and the version-2 master-key check against test/vectors/row-mac-v1.json
 * (written from docs/format.md by scripts/make-row-mac-vectors.mjs, independently of src/).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { secretRecord } from '../../../test/helpers/records.js';
import { deriveSubkey } from '../crypto/subkeys.js';
import { masterCheckV2, readMasterCheck } from './master-check.js';
import {
  kekFields,
  type MacField,
  type MacTable,
  rowMac,
  rowMacInput,
  rowMacMatches,
  secretFields,
  tokenFields,
} from './row-mac.js';
import type { KekRecord, SecretRecord, TokenRecord } from './storage.js';

const file = new URL('../../../test/vectors/row-mac-v1.json', import.meta.url);
const V = JSON.parse(readFileSync(file, 'utf8')) as {
  masterKey: string;
  vaultId: string;
  rowMacKey: string;
  masterCheckV2: string;
  vectors: {
    name: string;
    table: MacTable;
    row: Record<string, unknown>;
    input: string;
    mac: string;
  }[];
};
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const masterKey = hex(V.masterKey);
const vaultId = hex(V.vaultId);

function fieldsOf(table: MacTable, row: Record<string, unknown>): MacField[] {
  if (table === 'keks') {
    const sealed = row.sealed === null ? null : hex(row.sealed as string);
    return kekFields({ ...(row as unknown as KekRecord), sealed });
  }
  if (table === 'secrets') return secretFields(row as unknown as SecretRecord);
  return tokenFields(row as unknown as TokenRecord);
}

describe('row MAC vectors (row-mac-v1.json)', () => {
  const key = { key: deriveSubkey(masterKey, 'row-mac'), vaultId };

  it('the row-mac subkey', () => {
    expect(Buffer.from(key.key).toString('hex')).toBe(V.rowMacKey);
  });

  it.each(V.vectors.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    const fields = fieldsOf(v.table, v.row);
    expect(rowMacInput(vaultId, v.table, fields).toString('hex')).toBe(v.input);
    expect(Buffer.from(rowMac(key, v.table, fields)).toString('hex')).toBe(v.mac);
    expect(rowMacMatches(key, v.table, fields, hex(v.mac))).toBe(true);
    // Another table, another vault, or a flipped MAC bit: no match.
    const other: MacTable = v.table === 'tokens' ? 'keks' : 'tokens';
    expect(rowMacMatches(key, other, fields, hex(v.mac))).toBe(false);
    const elsewhere = { key: key.key, vaultId: new Uint8Array(16) };
    expect(rowMacMatches(elsewhere, v.table, fields, hex(v.mac))).toBe(false);
    const flipped = hex(v.mac);
    flipped[31]! ^= 1;
    expect(rowMacMatches(key, v.table, fields, flipped)).toBe(false);
    expect(rowMacMatches(key, v.table, fields, null)).toBe(false);
  });

  it('the version-2 master-key check', () => {
    expect(masterCheckV2(masterKey, vaultId)).toBe(V.masterCheckV2);
    const read = readMasterCheck(masterKey, V.masterCheckV2);
    expect(read.version).toBe(2);
    const wrong = new Uint8Array(32).fill(7);
    expect(() => readMasterCheck(wrong, V.masterCheckV2)).toThrow(/wrong master key/);
  });
});

describe('the verified-row cache', () => {
  const secret = (over: Partial<SecretRecord> = {}): SecretRecord =>
    secretRecord('project/app/db_url', 'dev', {
      description: 'Database URL the app connects with',
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      ...over,
    });

  it('a row that passed once still fails when any field changes under the same MAC', () => {
    const key = { key: deriveSubkey(masterKey, 'row-mac'), vaultId };
    fc.assert(
      fc.property(
        fc.record({
          description: fc.string({ maxLength: 40 }),
          currentVersion: fc.integer({ min: 1, max: 1_000_000 }),
          env: fc.constantFrom('dev', 'prod', 'staging'),
          deletedAt: fc.option(fc.constant('2026-02-01T00:00:00.000Z'), { nil: null }),
        }),
        (change) => {
          const row = secret();
          const mac = rowMac(key, 'secrets', secretFields(row));
          // Passes twice (the second time from the cache).
          expect(rowMacMatches(key, 'secrets', secretFields(row), mac)).toBe(true);
          expect(rowMacMatches(key, 'secrets', secretFields(row), mac)).toBe(true);
          const forged = secret(change);
          const same =
            Buffer.compare(
              rowMacInput(vaultId, 'secrets', secretFields(forged)),
              rowMacInput(vaultId, 'secrets', secretFields(row)),
            ) === 0;
          expect(rowMacMatches(key, 'secrets', secretFields(forged), mac)).toBe(same);
          // The same key for another vault, or another table: no match from the cache.
          const otherVault = { key: key.key, vaultId: new Uint8Array(16).fill(3) };
          expect(rowMacMatches(otherVault, 'secrets', secretFields(row), mac)).toBe(false);
          expect(rowMacMatches(key, 'tokens', secretFields(row), mac)).toBe(false);
          // Another key with the same bytes' MAC cached under the first key: no match.
          const other = { key: new Uint8Array(32).fill(9), vaultId };
          expect(rowMacMatches(other, 'secrets', secretFields(row), mac)).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('a row holding a value coffer never writes', () => {
  const key = { key: deriveSubkey(masterKey, 'row-mac'), vaultId };
  const row = secretRecord('project/app/db_url', 'dev', { currentVersion: 3, tier: 2 });
  const mac = rowMac(key, 'secrets', secretFields(row));
  /** Numbers no integer column of coffer's holds: what storage reads past 2^53, 1.5, text. */
  const notSafe = fc.oneof(
    fc.double().filter((n) => !Number.isSafeInteger(n)),
    fc
      .bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
      .map(Number)
      .filter((n) => !Number.isSafeInteger(n)),
    fc.constantFrom(NaN, Infinity, -Infinity, 2 ** 53, 2 ** 62, 1.5),
  );

  it('fails its MAC, for any integer column, and never throws', () => {
    fc.assert(
      fc.property(notSafe, fc.constantFrom('currentVersion', 'tier'), (n, column) => {
        const forged = secretFields({ ...row, [column]: n });
        for (const cache of [true, false]) {
          expect(rowMacMatches(key, 'secrets', forged, mac, cache)).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a flag that is no boolean fails its MAC too', () => {
    for (const v of [2, 0, 1, 'true', null]) {
      const forged = secretFields({ ...row, localOnly: v as unknown as boolean });
      expect(rowMacMatches(key, 'secrets', forged, mac)).toBe(false);
    }
  });

  it('the row as written still matches; writing such a value is a caller bug (RangeError)', () => {
    expect(rowMacMatches(key, 'secrets', secretFields(row), mac)).toBe(true);
    expect(() => rowMac(key, 'secrets', secretFields({ ...row, currentVersion: 2 ** 62 }))).toThrow(
      RangeError,
    );
  });
});
