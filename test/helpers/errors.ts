/** Test helpers that catch the CofferError a call throws, so tests can assert on it. */
import { expect } from 'vitest';
import { CofferError } from '../../src/core/errors.js';

/** The CofferError `fn` throws; fails the test when it throws something else or nothing. */
export function errorOf(fn: () => unknown): CofferError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CofferError);
    return err as CofferError;
  }
  throw new Error('expected an error, got a value');
}
