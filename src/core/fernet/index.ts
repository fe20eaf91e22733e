/**
 * Fernet tokens (https://github.com/fernet/spec/blob/master/Spec.md), compatible with Python
 * `cryptography`'s `Fernet` and `MultiFernet`. No I/O: keys and tokens are strings in and out.
 */
export {
  FERNET_KEY_BYTES,
  FERNET_MAX_CLOCK_SKEW,
  type FernetDecryptOptions,
  type FernetEncryptOptions,
  fernetDecrypt,
  fernetEncrypt,
  generateFernetKey,
} from './fernet.js';
export { fernetDecryptAny, fernetRotate } from './multi-fernet.js';
