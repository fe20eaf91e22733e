/**
 * Format checks that confirm a token is real in shape, not only in prefix:
 *
 * - GitHub's token formats (github.blog, "Behind GitHub's new authentication token formats",
 *   2021) and npm's (github.blog, "Announcing npm's new access token format", 2021) end in six
 *   base62 characters (alphabet 0-9, A-Z, a-z), the CRC32 of the 30 random characters before
 *   them, left-padded with `0`. A token typed by hand for a README almost never passes.
 * - JWTs: header and payload are base64url JSON objects, the header with an `alg`.
 * - Fernet keys: url-safe base64 of exactly 32 bytes.
 */
import { crc32 } from 'node:zlib';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `n` in base62, left-padded with `0` to `width` characters. */
export function base62(n: number, width: number): string {
  let out = '';
  let v = n;
  do {
    out = BASE62[v % 62]! + out;
    v = Math.floor(v / 62);
  } while (v > 0);
  return out.padStart(width, '0');
}

/** The six-character checksum of GitHub and npm tokens over their random part. */
export function tokenChecksum(random: string): string {
  return base62(crc32(random) >>> 0, 6);
}

/**
 * True when `token` (`ghp_…`, `gho_…`, `ghu_…`, `ghs_…`, `ghr_…` or `npm_…`, 36 characters
 * after the prefix) ends in the CRC32 checksum of its first 30.
 */
export function hasValidTokenChecksum(token: string): boolean {
  const body = token.slice(token.indexOf('_') + 1);
  if (body.length !== 36) return false;
  return tokenChecksum(body.slice(0, 30)) === body.slice(30);
}

/** Decodes base64url (padding optional) to text, or undefined when it is not valid. */
function base64UrlText(part: string): string | undefined {
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(part)) return undefined;
  return Buffer.from(part, 'base64url').toString('utf8');
}

/** True when `jwt` has a JSON header with `alg` and a JSON object payload. */
export function isStructuredJwt(jwt: string): boolean {
  const [h, p] = jwt.split('.');
  if (h === undefined || p === undefined) return false;
  try {
    const header = JSON.parse(base64UrlText(h) ?? '');
    const payload = JSON.parse(base64UrlText(p) ?? '');
    return (
      typeof header === 'object' &&
      header !== null &&
      typeof header.alg === 'string' &&
      typeof payload === 'object' &&
      payload !== null
    );
  } catch {
    return false;
  }
}

/** True when `key` is url-safe base64 of exactly 32 bytes (a Fernet key). */
export function isFernetKey(key: string): boolean {
  return /^[A-Za-z0-9_-]{43}=$/.test(key) && Buffer.from(key, 'base64url').length === 32;
}
