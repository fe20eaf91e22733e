import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AuditEntry, AuditRecord } from '../store/storage.js';
import { AuditChainVerifier, chainAuditRecord, GENESIS_HASH, hashAuditRecord } from './chain.js';

const FIRST: AuditEntry = {
  ts: '2026-01-01T00:00:00.000Z',
  actor: 'cli:alice',
  action: 'get',
  path: 'project/app/db_url',
  env: 'dev',
  version: 3,
  outcome: 'ok',
  detail: null,
};

const SECOND: AuditEntry = {
  ts: '2026-01-01T00:00:01.000Z',
  actor: 'token:ci@10.0.0.7',
  action: 'authenticate',
  path: null,
  env: null,
  version: null,
  outcome: 'denied',
  detail: 'revoked',
};

/** The hash as docs/format.md defines it, computed the long way. */
function referenceHash(seq: number, e: AuditEntry, prevHash: string): string {
  const fields = [seq, e.ts, e.actor, e.action, e.path, e.env, e.version, e.outcome, e.detail];
  return createHash('sha256')
    .update(JSON.stringify([...fields, prevHash]), 'utf8')
    .digest('hex');
}

const entry: fc.Arbitrary<AuditEntry> = fc.record({
  ts: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  actor: fc.string({ unit: 'grapheme', maxLength: 40 }),
  action: fc.constantFrom('get', 'set', 'delete', 'authenticate', 'token_create'),
  path: fc.option(fc.string({ maxLength: 60 }), { nil: null }),
  env: fc.option(fc.string({ maxLength: 20 }), { nil: null }),
  version: fc.option(fc.integer({ min: 1, max: 1_000_000 }), { nil: null }),
  outcome: fc.constantFrom('ok', 'denied', 'not_found', 'error'),
  detail: fc.option(fc.string({ unit: 'grapheme', maxLength: 40 }), { nil: null }),
});

describe('audit hash chain', () => {
  it('hashes records as the format defines (known answers)', () => {
    // Computed outside node: printf '%s' '<the JSON array>' | sha256sum
    const h1 = 'ac1db07d87249efcfe5089769441a5c80a8147c22e6d152de9149d77a4081358';
    const h2 = 'a5433e1af8f30b046cd9b64e6fbd61c04898ace03f0983a89289ddafe99f9e3d';
    expect(hashAuditRecord(1, FIRST, GENESIS_HASH)).toBe(h1);
    expect(hashAuditRecord(2, SECOND, h1)).toBe(h2);
    const quoted = { ...FIRST, actor: 'cli:zoë', detail: '"quoted"' };
    expect(hashAuditRecord(1, quoted, GENESIS_HASH)).toBe(
      '664328818d97af3d0a129b0cee85a8788f7a0445e19a80fa2635170d71b71d66',
    );
  });

  it('chains records: seq, prevHash, hash, and exactly the record fields', () => {
    const r1 = chainAuditRecord(undefined, FIRST);
    const r2 = chainAuditRecord(r1, SECOND);
    expect(r1).toEqual({ ...FIRST, seq: 1, prevHash: GENESIS_HASH, hash: r1.hash });
    expect(r2).toEqual({ ...SECOND, seq: 2, prevHash: r1.hash, hash: r2.hash });
    // Extra properties of the entry (a row from a driver, say) are not carried over.
    const extra = { ...FIRST, rowid: 7 } as AuditEntry;
    expect(Object.keys(chainAuditRecord(undefined, extra)).sort()).toEqual(Object.keys(r1).sort());
  });

  it('matches the reference hash and verifies, for any entries', () => {
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 20 }), (entries) => {
        const verifier = new AuditChainVerifier();
        let last: AuditRecord | undefined;
        for (const e of entries) {
          const prev = last;
          last = chainAuditRecord(prev, e);
          expect(last.hash).toBe(referenceHash(last.seq, e, prev?.hash ?? GENESIS_HASH));
          expect(verifier.push(last)).toBe(true);
        }
        expect(verifier.finish(`${last!.seq}:${last!.hash}`)).toBeUndefined();
      }),
      { numRuns: 100 },
    );
  });

  it('detects any changed field', () => {
    fc.assert(
      fc.property(
        entry,
        fc.constantFrom<keyof AuditEntry>('ts', 'actor', 'action', 'path', 'env', 'detail'),
        (e, field) => {
          const record = chainAuditRecord(undefined, e);
          const changed = { ...record, [field]: `${String(record[field])}x` };
          const verifier = new AuditChainVerifier();
          expect(verifier.push(changed)).toBe(false);
          expect(verifier.problem?.reason).toMatch(/^record 1 was changed \(its fields hash to /);
        },
      ),
      { numRuns: 100 },
    );
  });

  /** A chain of `n` records, then one break made at `at` of the kind asked for. */
  function brokenChain(n: number, at: number, kind: 'edit' | 'remove' | 'relink'): AuditRecord[] {
    const records: AuditRecord[] = [];
    let last: AuditRecord | undefined;
    for (let i = 0; i < n; i++) {
      last = chainAuditRecord(last, { ...FIRST, detail: `op ${i}` });
      records.push(last);
    }
    const i = at % n;
    if (kind === 'edit') records[i] = { ...records[i]!, detail: 'rewritten' };
    else if (kind === 'remove') records.splice(i, 1);
    else records[i] = { ...records[i]!, prevHash: 'f'.repeat(64) };
    return records;
  }

  it('property: acknowledgeable mode walks past each break, which stays a problem until acknowledged', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 12 }),
        fc.nat(),
        fc.constantFrom('edit', 'remove', 'relink') as fc.Arbitrary<'edit' | 'remove' | 'relink'>,
        (n, at, kind) => {
          // A removed last record is a cut tail, which only the head shows (head-state.ts).
          fc.pre(!(kind === 'remove' && at % n === n - 1));
          const records = brokenChain(n, at, kind);
          const strict = new AuditChainVerifier();
          const strictEnded = records.some((r) => !strict.push(r));
          expect(strictEnded).toBe(true);
          const v = new AuditChainVerifier({ acknowledgeable: true });
          for (const r of records) expect(v.push(r)).toBe(true);
          expect(v.linked).toBe(true);
          expect(v.count).toBe(records.length);
          // The first break is the one the strict walk stopped at.
          expect(v.problem).toEqual(strict.problem);
          expect(v.breaks.length).toBeGreaterThan(0);
          // An acknowledgement of other reasons clears nothing; of these, every one.
          v.acknowledge(['record 999 was changed']);
          expect(v.problem).toEqual(strict.problem);
          v.acknowledge(v.breaks.map((b) => b.reason));
          expect(v.problem).toBeUndefined();
          expect(v.finish(`${records.at(-1)!.seq}:${records.at(-1)!.hash}`)).toBeUndefined();
        },
      ),
      { numRuns: 100 },
    );
  });

  it('a seq or version no number holds (storage reads 2^62, 1.5, text as NaN) is a break', () => {
    const r1 = chainAuditRecord(undefined, SECOND);
    const r2 = chainAuditRecord(r1, { ...SECOND, detail: 'next' });
    const r3 = chainAuditRecord(r2, { ...SECOND, detail: 'last' });
    // Version null, read back as NaN: JSON writes NaN as null, so the hash alone matches.
    const version = { ...r2, version: Number.NaN };
    expect(hashAuditRecord(version.seq, version, version.prevHash)).toBe(r2.hash);
    const v = new AuditChainVerifier();
    expect(v.push(r1)).toBe(true);
    expect(v.push(version)).toBe(false);
    expect(v.problem?.reason).toMatch(/^record 2 was changed/);
    // A seq that orders nothing ends the walk: later records cannot be counted from it.
    for (const seq of [Number.NaN, 2 ** 62, 1.5]) {
      const w = new AuditChainVerifier({ acknowledgeable: true });
      expect(w.push(r1)).toBe(true);
      expect(w.push({ ...r2, seq })).toBe(false);
      expect(w.push(r3)).toBe(false);
      expect(w.problem).toEqual({ seq: 2, reason: 'a record after 1 has no valid seq' });
      expect(w.finish(`3:${r3.hash}`)).toBeDefined();
    }
  });
});
