/**
 * The vault's operations on metadata, never on values: listing, one secret's metadata, its
 * versions, and changes to its metadata (description, tier, rotation policy, env-var name,
 * local-only flag, generator). Each is audited like a read or a write of a value.
 */
import { CofferError } from '../errors.js';
import {
  type KeyPath,
  parseDescription,
  parseEnvironment,
  parseKeyPath,
  parsePathPrefix,
} from '../paths.js';
import type { AuditedStore } from './audited-store.js';
import type { SecretMetadata } from './storage.js';
import { assertDescriptionHidesValue, checkMetadata } from './values.js';
import type { SecretInfo, VersionInfo } from './vault-types.js';

function notFound(key: KeyPath, env: string): CofferError {
  return new CofferError('SECRET_NOT_FOUND', `no secret ${key.path} in environment ${env}`);
}

/** Lists secrets (metadata only): see Vault.list. */
export async function listSecrets(
  store: AuditedStore,
  options: {
    prefix?: string | undefined;
    env?: string | undefined;
    includeDeleted?: boolean;
    within?: ((path: string, env: string) => boolean) | undefined;
  },
): Promise<SecretInfo[]> {
  const prefix = options.prefix === undefined ? undefined : parsePathPrefix(options.prefix);
  const env = options.env === undefined ? undefined : parseEnvironment(options.env);
  return store.op('list', { path: options.prefix ?? null, env: env ?? null }, async (tx) => {
    const items = await tx.listSecrets({
      ...(prefix !== undefined ? { scope: prefix.scope } : {}),
      ...(prefix?.group !== undefined ? { group: prefix.group } : {}),
      ...(env !== undefined ? { env } : {}),
      includeDeleted: options.includeDeleted ?? false,
    });
    // Bounded before it is counted: the record says how many the caller got, never how many
    // exist beyond what it may see.
    const within = options.within;
    const shown = within === undefined ? items : items.filter((i) => within(i.path, i.env));
    return { result: shown, detail: `${shown.length} items` };
  });
}

/** The metadata of one secret (deleted ones included). */
export async function secretInfo(
  store: AuditedStore,
  path: string,
  env: string,
): Promise<SecretInfo> {
  const key = parseKeyPath(path);
  const e = parseEnvironment(env);
  return store.op('describe', { path: key.path, env: e }, async (tx) => {
    const secret = await tx.getSecret(key.path, e);
    if (secret === undefined) throw notFound(key, e);
    return { result: secret, version: secret.currentVersion };
  });
}

/** The versions of a secret, oldest first, without values. */
export async function secretHistory(
  store: AuditedStore,
  path: string,
  env: string,
): Promise<{ secret: SecretInfo; versions: VersionInfo[] }> {
  const key = parseKeyPath(path);
  const e = parseEnvironment(env);
  return store.op('history', { path: key.path, env: e }, async (tx) => {
    const secret = await tx.getSecret(key.path, e);
    if (secret === undefined) throw notFound(key, e);
    const versions = (await tx.listVersions(key.path, e)).map((v) => ({
      version: v.version,
      createdAt: v.createdAt,
      actor: v.actor,
      kekId: v.kekId,
    }));
    return { result: { secret, versions }, version: secret.currentVersion };
  });
}

/** Changes metadata (description, tier, rotation policy, env-var name, local-only, generator). */
export async function describeSecret(
  store: AuditedStore,
  path: string,
  env: string,
  patch: Partial<SecretMetadata>,
): Promise<SecretInfo> {
  const key = parseKeyPath(path);
  const e = parseEnvironment(env);
  const clean = checkMetadata(patch);
  if (patch.description !== undefined)
    clean.description = parseDescription(patch.description, key.path);
  return store.op('describe', { path: key.path, env: e }, async (tx) => {
    const secret = await tx.getSecret(key.path, e);
    if (secret === undefined) throw notFound(key, e);
    if (clean.description !== undefined) {
      // The new description is shown to every lister: it must not hold the current value.
      const rec = await tx.getVersion(key.path, e, secret.currentVersion);
      const plain = rec === undefined ? undefined : await store.decrypt(tx, rec);
      try {
        if (plain !== undefined)
          assertDescriptionHidesValue(plain.toString('utf8'), key.path, clean.description);
      } finally {
        plain?.fill(0);
      }
    }
    const changed = Object.keys(clean);
    if (changed.length > 0) await tx.updateSecret(key.path, e, { ...clean, updatedAt: store.ts() });
    return {
      result: { ...secret, ...clean, ...(changed.length ? { updatedAt: store.ts() } : {}) },
      version: secret.currentVersion,
      detail: changed.length ? `changed ${changed.sort().join(',')}` : null,
    };
  });
}
