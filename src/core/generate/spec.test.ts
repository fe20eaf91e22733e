/**
 * The compact generator spec: examples, rejects, and round trips between the typed and text
 * forms.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CofferError } from '../errors.js';
import {
  formatGeneratorSpec,
  type GeneratorSpec,
  KINDS,
  parseGeneratorSpec,
  resolveGeneratorSpec,
} from './spec.js';

function invalidArgument(fn: () => unknown): CofferError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CofferError);
    expect((err as CofferError).code).toBe('INVALID_ARGUMENT');
    return err as CofferError;
  }
  throw new Error('expected INVALID_ARGUMENT');
}

/** Any valid spec, including weak ones and omitted sizes. */
const specArb: fc.Arbitrary<GeneratorSpec> = fc.oneof(
  fc.record(
    {
      kind: fc.constantFrom('base64', 'hex', 'urlsafe', 'jwt' as const),
      bytes: fc.integer({ min: 1, max: 4096 }),
      allowWeak: fc.constant(true),
    },
    { requiredKeys: ['kind', 'allowWeak'] },
  ),
  fc.record(
    {
      kind: fc.constantFrom('alnum', 'password' as const),
      length: fc.integer({ min: 4, max: 4096 }),
      allowWeak: fc.constant(true),
    },
    { requiredKeys: ['kind', 'allowWeak'] },
  ),
  fc.record({ kind: fc.constantFrom('uuid', 'fernet' as const) }),
);

describe('generator specs', () => {
  it('lists the kinds', () => {
    expect(KINDS).toEqual([
      'base64',
      'hex',
      'urlsafe',
      'alnum',
      'password',
      'uuid',
      'fernet',
      'keyring',
      'jwt',
    ]);
  });

  it('parses the compact form', () => {
    expect(parseGeneratorSpec('base64:32')).toEqual({ kind: 'base64', bytes: 32 });
    expect(parseGeneratorSpec('password:24')).toEqual({ kind: 'password', length: 24 });
    expect(parseGeneratorSpec('password')).toEqual({ kind: 'password' });
    expect(parseGeneratorSpec('fernet')).toEqual({ kind: 'fernet' });
    expect(parseGeneratorSpec('hex:4:weak')).toEqual({ kind: 'hex', bytes: 4, allowWeak: true });
  });

  it('formats with the resolved size, and :weak only when needed', () => {
    expect(formatGeneratorSpec({ kind: 'password' })).toBe('password:24');
    expect(formatGeneratorSpec({ kind: 'jwt' })).toBe('jwt:64');
    expect(formatGeneratorSpec({ kind: 'base64', bytes: 32 })).toBe('base64:32');
    expect(formatGeneratorSpec({ kind: 'uuid' })).toBe('uuid');
    expect(formatGeneratorSpec({ kind: 'hex', bytes: 32, allowWeak: true })).toBe('hex:32');
    expect(formatGeneratorSpec({ kind: 'hex', bytes: 4, allowWeak: true })).toBe('hex:4:weak');
  });

  it('rejects malformed text without repeating it', () => {
    const bad = [
      '',
      'BASE64',
      'base64:',
      'base64:032',
      'base64:0',
      'base64: 32',
      ' base64',
      'base64:32 ',
      'base64:-1',
      'base64:32:WEAK',
      'uuid:16',
      'fernet:weak',
      'hex:32:weak',
      'hex:4',
      'password:3:weak',
      'alnum:5000',
      'alnum:99999999999999999999',
      `hex:${'9'.repeat(50)}`,
    ];
    for (const text of bad) invalidArgument(() => parseGeneratorSpec(text));
    for (const text of ['sentinel0secret', 'sentinel0secret:32', 'hex:32:sentinel0secret']) {
      expect(invalidArgument(() => parseGeneratorSpec(text)).message).not.toContain('sentinel');
    }
  });

  it('round-trips: parse(format(spec)) resolves to the same secret shape', () => {
    fc.assert(
      fc.property(specArb, (spec) => {
        const text = formatGeneratorSpec(spec);
        const back = parseGeneratorSpec(text);
        expect(resolveGeneratorSpec(back)).toEqual(resolveGeneratorSpec(spec));
        expect(formatGeneratorSpec(back)).toBe(text);
      }),
    );
  });
});
