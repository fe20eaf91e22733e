/**
 * FailureAudit: the first failure of an address and window is written at once, the rest of
 * the window as one record with a count; past the per-window cap of addresses, one record
 * for all the others. A property test checks against any sequence of failures, refusals and
 * clock steps that no failure is lost (records plus counts add up), that a window never adds
 * more than 2 x cap + 1 records, and that memory holds at most about 2 x cap addresses.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FailureAudit } from './failure-audit.js';

interface Rec {
  actor: string;
  detail: string;
  at: number;
}

function harness(options: { windowMs?: number; maxAddressesPerWindow?: number } = {}) {
  let now = 1_000_000;
  const records: Rec[] = [];
  const audit = new FailureAudit(
    async (actor, detail) => {
      records.push({ actor, detail, at: now });
    },
    { windowMs: 60_000, sweepMs: 3_600_000, ...options, now: () => now },
  );
  return {
    audit,
    records,
    tick(ms: number) {
      now += ms;
    },
  };
}

/** Failures a record stands for: 1 for a first record, else the counts in its detail. */
function failuresIn(r: Rec): number {
  const more = /^(\d+) more failed authentications?/.exec(r.detail);
  if (more !== null) return Number(more[1]);
  const over = /^(\d+) failed authentications? from addresses past the audit cap/.exec(r.detail);
  if (over !== null) return Number(over[1]);
  return /^\d+ requests? refused by the rate limit/.test(r.detail) ? 0 : 1;
}

function refusedIn(r: Rec): number {
  const m = /(\d+) requests? refused by the rate limit/.exec(r.detail);
  return m === null ? 0 : Number(m[1]);
}

describe('FailureAudit', () => {
  it('writes the first failure of a window at once and the rest as one record with a count', async () => {
    const h = harness();
    await h.audit.failure('203.0.113.7', 'token:ci@203.0.113.7', 'mismatch');
    expect(h.records).toEqual([
      { actor: 'token:ci@203.0.113.7', detail: 'mismatch', at: expect.any(Number) },
    ]);
    for (let i = 0; i < 40; i++) {
      expect(
        h.audit.failure(
          '203.0.113.7',
          'unauthenticated@203.0.113.7',
          i < 30 ? 'unknown' : 'mismatch',
        ),
      ).toBeUndefined();
    }
    for (let i = 0; i < 5; i++) h.audit.refused('203.0.113.7');
    await h.audit.flush();
    expect(h.records).toHaveLength(1); // the window has not ended
    h.tick(60_000);
    await h.audit.flush();
    expect(h.records.slice(1).map((r) => [r.actor, r.detail])).toEqual([
      [
        'unauthenticated@203.0.113.7',
        '40 more failed authentications in 60 s (unknown 30, mismatch 10); 5 requests refused by the rate limit',
      ],
    ]);
    // the next window starts afresh: its first failure is written at once
    await h.audit.failure('203.0.113.7', 'unauthenticated@203.0.113.7', 'missing');
    expect(h.records.at(-1)?.detail).toBe('missing');
    expect(h.audit.size).toBe(1);
  });

  it('an address with a single failure adds no summary', async () => {
    const h = harness();
    await h.audit.failure('a', 'unauthenticated@a', 'missing');
    await h.audit.close();
    expect(h.records).toHaveLength(1);
    expect(h.audit.size).toBe(0);
  });

  it('past the cap of addresses per window, one record counts all the others', async () => {
    const h = harness({ maxAddressesPerWindow: 100 });
    // 500 addresses, 10 failures each, within one window
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 500; i++) {
        const address = `10.0.${i >> 8}.${i & 255}`;
        await h.audit.failure(address, `unauthenticated@${address}`, 'unknown');
      }
    }
    expect(h.records).toHaveLength(100);
    expect(h.audit.size).toBe(100);
    h.tick(60_000);
    await h.audit.flush();
    expect(h.records).toHaveLength(201);
    expect(h.records.at(-1)).toMatchObject({
      actor: 'unauthenticated@*',
      detail:
        '4000 failed authentications from addresses past the audit cap (100 addresses in 60 s)',
    });
    expect(h.records.reduce((n, r) => n + failuresIn(r), 0)).toBe(5000);
    expect(h.audit.size).toBe(0);
  });

  it('close writes what is pending, whatever the clock', async () => {
    const h = harness({ maxAddressesPerWindow: 1 });
    await h.audit.failure('a', 'unauthenticated@a', 'missing');
    await h.audit.failure('a', 'unauthenticated@a', 'missing');
    await h.audit.failure('b', 'unauthenticated@b', 'missing');
    h.audit.refused('c');
    await h.audit.close();
    expect(h.records.map((r) => r.detail)).toEqual([
      'missing',
      '1 more failed authentication in 60 s (missing 1)',
      '1 failed authentication from addresses past the audit cap (1 address in 60 s); 1 request refused by the rate limit',
    ]);
  });

  it('property: nothing is lost, a window adds at most 2 x cap + 1 records, memory stays bounded', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('fail' as const), who: fc.integer({ min: 0, max: 30 }) }),
      fc.record({ kind: fc.constant('refuse' as const), who: fc.integer({ min: 0, max: 30 }) }),
      fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 20_000 }) }),
      fc.record({ kind: fc.constant('sweep' as const) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.array(op, { maxLength: 150 }),
        async (cap, ops) => {
          const h = harness({ maxAddressesPerWindow: cap, windowMs: 10_000 });
          let failures = 0;
          let refused = 0;
          for (const o of ops) {
            if (o.kind === 'fail') {
              failures++;
              await h.audit.failure(`a${o.who}`, `unauthenticated@a${o.who}`, 'unknown');
            } else if (o.kind === 'refuse') {
              refused++;
              h.audit.refused(`a${o.who}`);
            } else if (o.kind === 'tick') h.tick(o.ms);
            else await h.audit.flush();
            expect(h.audit.size).toBeLessThanOrEqual(2 * cap);
          }
          await h.audit.close();
          expect(h.records.reduce((n, r) => n + failuresIn(r), 0)).toBe(failures);
          expect(h.records.reduce((n, r) => n + refusedIn(r), 0)).toBe(refused);
          // records written in any 10 s span: at most the cap's first records and summaries of
          // this window and the one before, plus the global summaries
          for (const r of h.records) {
            const span = h.records.filter((x) => x.at >= r.at && x.at < r.at + 10_000);
            expect(span.length).toBeLessThanOrEqual(4 * cap + 2);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses a cap below 1', () => {
    expect(() => new FailureAudit(async () => undefined, { maxAddressesPerWindow: 0 })).toThrow(
      RangeError,
    );
  });
});
