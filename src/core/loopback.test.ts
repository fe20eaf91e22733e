import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isLoopback, privateLoopbackHost } from './loopback.js';

describe('privateLoopbackHost', () => {
  it('property: a plain 127.x.y.z address, loopback, never 127.0.0.1', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 3, maxLength: 3 }), (bytes) => {
        const host = privateLoopbackHost(() => Buffer.from(bytes));
        expect(isLoopback(host)).toBe(true);
        expect(host).not.toBe('127.0.0.1');
        const [, x, y, z] = host.split('.').map(Number) as [number, number, number, number];
        expect(x).toBeGreaterThanOrEqual(1);
        expect(x).toBeLessThanOrEqual(254);
        expect(y).toBeLessThanOrEqual(255);
        expect(z).toBeGreaterThanOrEqual(1);
        expect(z).toBeLessThanOrEqual(254);
      }),
    );
  });

  it('draws a different address each time (random source)', () => {
    const hosts = new Set(Array.from({ length: 20 }, () => privateLoopbackHost()));
    expect(hosts.size).toBeGreaterThan(1);
  });
});
