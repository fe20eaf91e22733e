/**
 * SHA-256 of a UTF-8 string with node:crypto's one-shot `hash` (Node >= 20.12), about twice
 * as fast as createHash for short inputs (audit records, token secrets), falling back to
 * createHash on older Node.
 */
import * as crypto from 'node:crypto';

type OneShotHash = {
  (algorithm: string, data: string, encoding: 'hex'): string;
  (algorithm: string, data: string, encoding: 'buffer'): Buffer;
};
const oneShot = (crypto as unknown as { hash?: OneShotHash }).hash;

/** Lowercase hex SHA-256 of a UTF-8 string. */
export const sha256Hex: (text: string) => string =
  typeof oneShot === 'function'
    ? (text) => oneShot('sha256', text, 'hex')
    : (text) => crypto.createHash('sha256').update(text, 'utf8').digest('hex');

/** SHA-256 of a UTF-8 string, as 32 bytes. */
export const sha256Bytes: (text: string) => Buffer =
  typeof oneShot === 'function'
    ? (text) => oneShot('sha256', text, 'buffer')
    : (text) => crypto.createHash('sha256').update(text, 'utf8').digest();
