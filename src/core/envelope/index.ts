/**
 * `coffer/envelope`: encryption of application data (OAuth tokens of connectors, API
 * credentials of users) in a database column, with key ids, context binding and rotation.
 * Loads no database driver, no CLI and no vault: only node:crypto.
 *
 * Key management: a `DataKeyring` holds 256-bit keys with ids; the first one that may
 * encrypt is primary. Keys come from the environment (`keyringFromEnv`: COFFER_DATA_KEYS,
 * or the seeds' WORKFLOWS_ARTIFACT_ENC_KEY / CONNECTOR_SECRET_KEY), from a vault secret
 * (`keyringFromVault`), or from code (`createKeyring`). To rotate: put a new key first, keep
 * the old one, run `rewrapRows` (or `coffer envelope rewrap`), then drop the old key.
 *
 * Compatibility: envelopes are versioned JSON text (`{"coffer":1,...}`, docs/format.md,
 * vectors in test/vectors/envelope-json-v1.json); version 1 stays readable by every later
 * coffer.
 *
 * @example
 * ```ts
 * import { decryptJsonBlob, encryptJsonBlob, keyringFromEnv, rowContext } from 'coffer/envelope';
 * const keyring = keyringFromEnv();
 * const context = rowContext('external_accounts', 'access_token', accountId);
 * const stored = encryptJsonBlob({ access_token, refresh_token }, keyring, { context });
 * const tokens = decryptJsonBlob<Tokens>(stored, keyring, { context });
 * ```
 */

export { CofferError, type ErrorCode, isCofferError } from '../errors.js';
export {
  type ConnectorKeyDerivation,
  connectorKey,
  derivedKeyId,
  type EnvKeyringOptions,
  KEY_VARIABLES,
  type KeyVariable,
  keyringFromEnv,
  keyringFromVault,
  MIN_CONNECTOR_KEY_CHARS,
  type SecretReader,
} from './env-keyring.js';
export { ENVELOPE_VERSION, KEY_ID_PATTERN, MAX_PLAINTEXT_BYTES } from './format.js';
export {
  type DecryptJsonOptions,
  decryptJsonBlob,
  type EncryptJsonOptions,
  encryptJsonBlob,
  envelopeKeyId,
  type OpenedJsonBlob,
  openJsonBlob,
} from './json-blob.js';
export {
  createKeyring,
  type DataKeyInput,
  DataKeyring,
  type KeyringOptions,
  parseKeyList,
} from './keyring.js';
export {
  type RewrapAdapter,
  type RewrapFailure,
  type RewrapOptions,
  type RewrapResult,
  type RewrapRow,
  type RewrapUpdate,
  type RowId,
  rewrapRows,
} from './rewrap.js';
export { contextTemplate, DEFAULT_CONTEXT_TEMPLATE, rowContext } from './row-context.js';
export {
  type ColumnRef,
  type PgClientLike,
  postgresRewrapAdapter,
  quoteIdentifier,
  type SqliteDatabaseLike,
  type SqliteStatementLike,
  sqliteRewrapAdapter,
} from './sql-adapters.js';
