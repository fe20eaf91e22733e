/**
 * coffer's core API: the vault service and the pieces front ends and applications use.
 *
 * Key management: a vault's master key (env, key file or scrypt passphrase) seals the
 * keyring of key-encryption keys; each secret version has its own data key wrapped by the
 * primary KEK. `rotateKeys` re-wraps data keys online. See docs/format.md for the bytes.
 *
 * Compatibility: the envelope format and the audit chain are versioned; a vault written by
 * format 1 stays readable by every later coffer.
 *
 * @example
 * ```ts
 * import { Vault, openSqliteStorage } from 'coffer';
 * const storage = openSqliteStorage('vault.db');
 * const vault = new Vault(storage, masterKey, { actor: 'app:billing' });
 * const { value } = await vault.get('project/consilio/stripe_api_key', 'prod');
 * ```
 */
export * from './access/index.js';
export {
  AuditChainVerifier,
  chainAuditRecord,
  GENESIS_HASH,
  hashAuditRecord,
} from './audit/chain.js';
export { type AuditVerifyResult, readAudit, verifyAudit } from './audit/log.js';
export * from './backup/index.js';
export * from './crypto/envelope.js';
export { deriveKeyFromPassphrase, type ScryptParams } from './crypto/kdf.js';
export * from './dotenv/index.js';
export {
  compareEnvironments,
  type EnvironmentComparison,
  type ProjectReader,
} from './environments/compare.js';
export {
  CofferError,
  ERROR_CODES,
  type ErrorClass,
  type ErrorCode,
  errorClassOf,
  isCofferError,
} from './errors.js';
export {
  FERNET_KEY_BYTES,
  FERNET_MAX_CLOCK_SKEW,
  type FernetDecryptOptions,
  type FernetEncryptOptions,
  fernetDecrypt,
  fernetDecryptAny,
  fernetEncrypt,
  fernetRotate,
  generateFernetKey,
} from './fernet/index.js';
export { fileMode, type WriteSecretFileOptions, writeSecretFile } from './files.js';
export * from './generate/index.js';
export { Keyring } from './keys/keyring.js';
export {
  createKeyFile,
  newScryptParams,
  parseMasterKey,
  readKeyFile,
} from './keys/master-key.js';
export { type KeyStatus, keyStatus, type RotateResult, rotateKeys } from './keys/rotate.js';
export * from './paths.js';
export * from './redact/index.js';
export {
  parseReference,
  REFERENCE_SCHEME,
  type ReferenceReader,
  type ReferenceVariables,
  resolveReferences,
  type SecretReference,
} from './references/index.js';
export * from './rotation/index.js';
export { AuthenticatedTx, RowIntegrityError } from './store/authenticated-tx.js';
export { initVault, type KeySource, readVaultInfo, type VaultInfo } from './store/init.js';
export type * from './store/storage.js';
export * from './store/vault.js';
