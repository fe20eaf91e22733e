/**
 * Where applications get their data keyring: the environment or a secret in the vault.
 *
 * Environment variables, read in this order (every key found joins the keyring; the first
 * key that may encrypt is primary):
 *
 *   COFFER_DATA_KEYS="k2:<base64>,k1:<base64>"   ids and keys, newest first (the first is primary)
 *   WORKFLOWS_ARTIFACT_ENC_KEY=<base64>           exactly 32 bytes (AES-256), as in the seeds
 *   CONNECTOR_SECRET_KEY=<text>                   a random string of at least 16 characters
 *
 * CONNECTOR_SECRET_KEY is a string, not key bytes: the key is HKDF-SHA256 (RFC 5869) of its
 * UTF-8 bytes with an empty salt and info "coffer/envelope/connector-key/v1". HKDF does not
 * slow down guessing, so the string must be random (`openssl rand -base64 24`), as the seeds
 * generate it. The opt-in `sha256` derivation (key = SHA-256 of the string, what apps that
 * "hash the key before use" did) exists only to read data those apps wrote: its key is
 * decrypt-only, so new envelopes need a key in COFFER_DATA_KEYS.
 *
 * The single variables have no id of their own, so their id is derived from the key:
 * `workflows-`, `connector-` or `connector-sha256-` plus 8 hex digits of
 * HMAC-SHA256(key, "coffer/envelope/key-id/v1"). Replacing the key therefore changes the id,
 * and old rows fail with "no key in the keyring has id ..." rather than a vague error. The
 * 32 bits reveal nothing usable about a 256-bit key.
 *
 * Migration from a single variable: set COFFER_DATA_KEYS to a new key and keep the old
 * variable; the old key still opens old rows until `coffer envelope rewrap` has moved them.
 */
import { createHash, createHmac, hkdfSync } from 'node:crypto';
import { CofferError } from '../errors.js';
import {
  createKeyring,
  type DataKeyInput,
  type DataKeyring,
  decodeKey,
  type KeyringOptions,
  parseKeyList,
} from './keyring.js';

export type KeyVariable =
  | 'COFFER_DATA_KEYS'
  | 'WORKFLOWS_ARTIFACT_ENC_KEY'
  | 'CONNECTOR_SECRET_KEY';

/** Every variable `keyringFromEnv` reads, in order. */
export const KEY_VARIABLES: readonly KeyVariable[] = [
  'COFFER_DATA_KEYS',
  'WORKFLOWS_ARTIFACT_ENC_KEY',
  'CONNECTOR_SECRET_KEY',
];

/** How a CONNECTOR_SECRET_KEY string becomes a key. */
export type ConnectorKeyDerivation = 'hkdf-sha256' | 'sha256';

/** Fewest characters accepted in CONNECTOR_SECRET_KEY (as in the seeds). */
export const MIN_CONNECTOR_KEY_CHARS = 16;

export interface EnvKeyringOptions extends KeyringOptions {
  /** Which variables to read (default: all of KEY_VARIABLES). */
  variables?: readonly KeyVariable[] | undefined;
  /** Throw DATA_KEY_MISSING ("X must be defined") when none of them is set. */
  required?: boolean | undefined;
  /** Default `hkdf-sha256`; `sha256` only to read data of apps that hashed the key. */
  connectorKeyDerivation?: ConnectorKeyDerivation | undefined;
}

/**
 * Builds a keyring from the environment (see the module comment). Unset or empty variables
 * are skipped; with none set the keyring is empty and encryption refuses unless the caller
 * allows plaintext. Errors name the variable, never its value.
 *
 * @example
 * ```ts
 * const keyring = keyringFromEnv(process.env, { variables: ['CONNECTOR_SECRET_KEY'], required: true });
 * ```
 */
export function keyringFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
  options: EnvKeyringOptions = {},
): DataKeyring {
  const wanted = options.variables ?? KEY_VARIABLES;
  const derivation = options.connectorKeyDerivation ?? 'hkdf-sha256';
  if (derivation !== 'hkdf-sha256' && derivation !== 'sha256') {
    throw new TypeError('connectorKeyDerivation must be "hkdf-sha256" or "sha256"');
  }
  const value = (name: KeyVariable) => (wanted.includes(name) ? env[name] || undefined : undefined);
  const keys: DataKeyInput[] = [];
  const list = value('COFFER_DATA_KEYS');
  if (list !== undefined) keys.push(...parseKeyList(list, 'COFFER_DATA_KEYS'));
  const workflows = value('WORKFLOWS_ARTIFACT_ENC_KEY');
  if (workflows !== undefined) {
    const key = decodeKey(workflows, 'WORKFLOWS_ARTIFACT_ENC_KEY');
    keys.push({ id: derivedKeyId('workflows', key), key });
  }
  const connector = value('CONNECTOR_SECRET_KEY');
  if (connector !== undefined) keys.push(connectorKey(connector, derivation));
  if (keys.length === 0 && options.required) {
    const names = wanted.length === 1 ? wanted[0] : `one of ${wanted.join(', ')}`;
    throw new CofferError('DATA_KEY_MISSING', `${names} must be defined`);
  }
  try {
    return createKeyring(keys, options);
  } finally {
    for (const k of keys) if (k.key instanceof Uint8Array) k.key.fill(0);
  }
}

/** The key of a CONNECTOR_SECRET_KEY string (exported for the vectors and tests). */
export function connectorKey(text: string, derivation: ConnectorKeyDerivation): DataKeyInput {
  if ([...text].length < MIN_CONNECTOR_KEY_CHARS) {
    throw new CofferError(
      'DATA_KEY_INVALID',
      `Key must be at least ${MIN_CONNECTOR_KEY_CHARS} characters`,
      {
        hint: 'CONNECTOR_SECRET_KEY is too short; generate one with `openssl rand -base64 24`.',
      },
    );
  }
  const input = Buffer.from(text, 'utf8');
  try {
    if (derivation === 'sha256') {
      const key = new Uint8Array(createHash('sha256').update(input).digest());
      return { id: derivedKeyId('connector-sha256', key), key, decryptOnly: true };
    }
    const key = new Uint8Array(
      hkdfSync('sha256', input, new Uint8Array(0), 'coffer/envelope/connector-key/v1', 32),
    );
    return { id: derivedKeyId('connector', key), key };
  } finally {
    input.fill(0);
  }
}

/** `prefix-` + 8 hex digits of HMAC-SHA256(key, "coffer/envelope/key-id/v1"). */
export function derivedKeyId(prefix: string, key: Uint8Array): string {
  const mac = createHmac('sha256', key).update('coffer/envelope/key-id/v1', 'ascii').digest();
  return `${prefix}-${mac.subarray(0, 4).toString('hex')}`;
}

/** What `keyringFromVault` needs: a Vault, or anything with the same `get`. */
export interface SecretReader {
  get(path: string, env: string): Promise<{ value: string }>;
}

/**
 * Loads a keyring from a secret whose value is a key list in the COFFER_DATA_KEYS grammar
 * (`k2:<base64>,k1:<base64>`). Reading it goes through the Vault API, so it is audited.
 *
 * @example
 * ```ts
 * const keyring = await keyringFromVault(vault, 'project/connectors/data_keys', { env: 'prod' });
 * ```
 */
export async function keyringFromVault(
  vault: SecretReader,
  path: string,
  options: { env: string } & KeyringOptions,
): Promise<DataKeyring> {
  const { value } = await vault.get(path, options.env);
  const keys = parseKeyList(value, `the secret ${path} (${options.env})`);
  try {
    return createKeyring(keys, options);
  } finally {
    for (const k of keys) if (k.key instanceof Uint8Array) k.key.fill(0);
  }
}
