/**
 * `coffer/fernet`: Fernet tokens (https://github.com/fernet/spec/blob/master/Spec.md),
 * compatible with Python `cryptography`'s `Fernet` and `MultiFernet`. No I/O: keys and tokens
 * are strings in and out. `generateKey`, `encrypt` and `decrypt` are the short names of
 * `generateFernetKey`, `fernetEncrypt` and `fernetDecrypt`, for `import * as fernet`.
 *
 * @example
 * ```ts
 * import * as fernet from 'coffer/fernet';
 * const key = process.env.ENCRYPTION_KEY!; // Fernet.generate_key() in Python, or fernet.generateKey()
 * const token = fernet.encrypt(key, apiKey);
 * const plain = fernet.decrypt(key, token, { ttl: 3600 }).toString('utf8');
 * ```
 */
export {
  FERNET_KEY_BYTES,
  FERNET_MAX_CLOCK_SKEW,
  type FernetDecryptOptions,
  type FernetEncryptOptions,
  fernetDecrypt,
  fernetDecrypt as decrypt,
  fernetEncrypt,
  fernetEncrypt as encrypt,
  generateFernetKey,
  generateFernetKey as generateKey,
} from './fernet.js';
export { fernetDecryptAny, fernetRotate } from './multi-fernet.js';
