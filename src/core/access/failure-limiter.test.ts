/**
 * FailureLimiter against a simple model (fast-check): an address is blocked exactly when it
 * failed `maxFailures` times in its current window, Retry-After is the rest of the window
 * rounded up, and the table never holds more than `maxClients` addresses.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FailureLimiter } from './failure-limiter.js';

describe('FailureLimiter', () => {
  it('blocks after maxFailures in a window, for that address only, until the window ends', () => {
    let now = 0;
    const limiter = new FailureLimiter({ maxFailures: 2, windowMs: 10_000, now: () => now });
    expect(limiter.retryAfter('a')).toBeUndefined();
    limiter.fail('a');
    expect(limiter.retryAfter('a')).toBeUndefined();
    now = 1_000;
    limiter.fail('a');
    expect(limiter.retryAfter('a')).toBe(9);
    expect(limiter.retryAfter('b')).toBeUndefined();
    now = 9_999;
    expect(limiter.retryAfter('a')).toBe(1);
    now = 10_000;
    expect(limiter.retryAfter('a')).toBeUndefined();
    expect(limiter.size).toBe(0);
  });

  it('refuses nonsensical settings', () => {
    expect(() => new FailureLimiter({ maxFailures: 0 })).toThrow(RangeError);
    expect(() => new FailureLimiter({ maxFailures: 1.5 })).toThrow(RangeError);
    expect(() => new FailureLimiter({ windowMs: 10 })).toThrow(RangeError);
  });

  it('a flood of addresses cannot grow the table past maxClients', () => {
    let now = 0;
    const limiter = new FailureLimiter({ maxClients: 100, now: () => now });
    for (let i = 0; i < 10_000; i++) {
      now = i;
      limiter.fail(`10.0.${i >> 8}.${i & 255}`);
    }
    expect(limiter.size).toBeLessThanOrEqual(100);
  });

  it('agrees with a model on any sequence of failures, checks and clock steps', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('fail' as const), who: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant('check' as const), who: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 4_000 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(op, { maxLength: 60 }), (max, ops) => {
        let now = 0;
        const windowMs = 5_000;
        const limiter = new FailureLimiter({ maxFailures: max, windowMs, now: () => now });
        const model = new Map<number, { failures: number; resetAt: number }>();
        for (const o of ops) {
          if (o.kind === 'tick') {
            now += o.ms;
            continue;
          }
          const w = model.get(o.who);
          const live = w !== undefined && now < w.resetAt ? w : undefined;
          if (o.kind === 'fail') {
            if (live) live.failures++;
            else model.set(o.who, { failures: 1, resetAt: now + windowMs });
            limiter.fail(`addr-${o.who}`);
          } else {
            const expected =
              live !== undefined && live.failures >= max
                ? Math.max(1, Math.ceil((live.resetAt - now) / 1000))
                : undefined;
            expect(limiter.retryAfter(`addr-${o.who}`)).toBe(expected);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('FailureLimiter.firstRefusal', () => {
  it('true once per limited window of an address, false when it is not limited', () => {
    let now = 0;
    const limiter = new FailureLimiter({ maxFailures: 2, windowMs: 60_000, now: () => now });
    expect(limiter.firstRefusal('a')).toBe(false);
    limiter.fail('a');
    limiter.fail('a');
    expect([
      limiter.firstRefusal('a'),
      limiter.firstRefusal('a'),
      limiter.firstRefusal('b'),
    ]).toEqual([true, false, false]);
    now += 60_000;
    expect(limiter.firstRefusal('a')).toBe(false);
    limiter.fail('a');
    limiter.fail('a');
    expect(limiter.firstRefusal('a')).toBe(true);
  });
});
