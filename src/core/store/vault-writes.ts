/**
 * The vault's writes: a new version of one secret (`set`, with check-and-set), of several in
 * one all-or-nothing transaction (`setMany`), and the soft delete and its undo. Every write
 * is checked before its transaction (path, environment, value, description, metadata) and
 * sealed with its own data key under the keyring's primary KEK; the plaintext bytes are
 * wiped once the transaction is over, committed or not.
 */
import { sealSecret } from '../crypto/envelope.js';
import { CofferError } from '../errors.js';
import { type KeyPath, parseDescription, parseEnvironment, parseKeyPath } from '../paths.js';
import type { AuditDraft, AuditedStore } from './audited-store.js';
import type { SecretMetadata, StorageTx } from './storage.js';
import { assertValueGiven, assertValueNotShown, checkMetadata, valueBytes } from './values.js';
import type { SetOptions, SetResult } from './vault-types.js';

/** One write of `set` or `setMany`, checked before its transaction. */
interface PreparedSet {
  key: KeyPath;
  env: string;
  plaintext: Uint8Array;
  description: string | undefined;
  ifVersion: number | undefined;
  metadata: Partial<Omit<SecretMetadata, 'description'>>;
}

/** Checks one write before any transaction: path, environment, value, description. */
function prepareSet(path: string, env: string, value: string, options: SetOptions): PreparedSet {
  const key = parseKeyPath(path);
  const e = parseEnvironment(env);
  if (typeof value === 'string') assertValueGiven(value, key.path, e, options.allowEmpty);
  const { description, ifVersion } = checkSetOptions(key, options);
  assertValueNotShown(value, key, e, description);
  const metadata = checkMetadata(options.metadata ?? {});
  const plaintext = valueBytes(value);
  return { key, env: e, plaintext, description, ifVersion, metadata };
}

/** A set's description (collapsed) and expected version, checked. */
function checkSetOptions(
  key: KeyPath,
  options: Pick<SetOptions, 'description' | 'ifVersion'>,
): { description: string | undefined; ifVersion: number | undefined } {
  const description =
    options.description === undefined ? undefined : parseDescription(options.description, key.path);
  const ifVersion = options.ifVersion;
  if (ifVersion !== undefined && (!Number.isSafeInteger(ifVersion) || ifVersion < 0)) {
    throw new CofferError('INVALID_ARGUMENT', 'the expected version must be a whole number >= 0');
  }
  return { description, ifVersion };
}

/**
 * The refusals of a set that depend on the secret as stored, not on the value: a check-and-set
 * version that is not the current one, and a new secret without a description. `current` is
 * the stored secret's current version, undefined when there is none (a deleted secret is
 * there: a set revives it, keeping its description).
 */
function checkSetTarget(
  key: KeyPath,
  env: string,
  current: number | undefined,
  description: string | undefined,
  ifVersion: number | undefined,
): void {
  if (ifVersion !== undefined && ifVersion !== (current ?? 0)) {
    throw new CofferError(
      'VERSION_CONFLICT',
      `${key.path} (${env}) is at version ${current ?? 0}, not ${ifVersion}`,
    );
  }
  if (current === undefined && description === undefined) {
    throw new CofferError(
      'INVALID_DESCRIPTION',
      `a description is required to create ${key.path}`,
      {
        hint: 'Pass --description "what it is for", e.g. "Stripe API key for payment processing".',
      },
    );
  }
}

/** Writes one prepared version inside `tx` (the caller audits it). */
async function setIn(store: AuditedStore, tx: StorageTx, p: PreparedSet): Promise<SetResult> {
  const { key, env: e, description, ifVersion } = p;
  const existing = await tx.getSecret(key.path, e);
  checkSetTarget(key, e, existing?.currentVersion, description, ifVersion);
  const version = (existing?.currentVersion ?? 0) + 1;
  const slot = { path: key.path, env: e, version };
  const kek = await store.keyring.primary(tx);
  const sealed = sealSecret(kek.key, kek.id, p.plaintext, slot);
  const ts = store.ts();
  await tx.insertVersion({
    ...slot,
    kekId: kek.id,
    wrappedDek: sealed.wrappedDek,
    ciphertext: sealed.ciphertext,
    createdAt: ts,
    actor: store.actor,
  });
  const meta = p.metadata;
  if (existing === undefined) {
    await tx.insertSecret({
      path: key.path,
      env: e,
      description: description!,
      currentVersion: version,
      tier: meta.tier ?? null,
      rotation: meta.rotation ?? null,
      envVar: meta.envVar ?? null,
      localOnly: meta.localOnly ?? false,
      generator: meta.generator ?? null,
      createdAt: ts,
      updatedAt: ts,
      deletedAt: null,
    });
  } else {
    await tx.updateSecret(key.path, e, {
      ...meta,
      ...(description !== undefined ? { description } : {}),
      currentVersion: version,
      updatedAt: ts,
      deletedAt: null,
    });
  }
  return { path: key.path, env: e, version, created: existing === undefined };
}

/**
 * Refuses a set that would be refused whatever its value (path, environment, description,
 * check-and-set version, a new secret without a description), so a front end can ask for the
 * value only after this passes. It reads metadata only, and is audited as `check_set`,
 * passed or refused (it tells whether the secret exists: a token that may write a path learns
 * that only on the record). The set that follows checks all of this again in its own
 * transaction.
 */
export async function checkSetSecret(
  store: AuditedStore,
  path: string,
  env: string,
  options: Pick<SetOptions, 'description' | 'ifVersion'>,
): Promise<void> {
  const key = parseKeyPath(path);
  const e = parseEnvironment(env);
  const { description, ifVersion } = checkSetOptions(key, options);
  // Audited either way, as `check_set` (a check tells whether the secret exists, and what
  // its version is): passed, or refused as the set would have been.
  await store.op('check_set', { path: key.path, env: e }, async (tx) => {
    const existing = await tx.getSecret(key.path, e);
    checkSetTarget(key, e, existing?.currentVersion, description, ifVersion);
    return { result: undefined };
  });
}

/** Stores a new version of a secret (creating it, or reviving a deleted one). */
export async function setSecret(
  store: AuditedStore,
  path: string,
  env: string,
  value: string,
  options: SetOptions,
): Promise<SetResult> {
  const p = prepareSet(path, env, value, options);
  try {
    return await store.op('set', { path: p.key.path, env: p.env }, async (tx) => {
      const result = await setIn(store, tx, p);
      return { result, version: result.version };
    });
  } finally {
    p.plaintext.fill(0);
  }
}

/**
 * Stores a new version inside a transaction the caller runs and audits (a rotation: the new
 * version, its state and its audit record commit together). Checked as `set` checks.
 */
export async function setInTransaction(
  store: AuditedStore,
  tx: StorageTx,
  path: string,
  env: string,
  value: string,
  options: SetOptions,
): Promise<SetResult> {
  const p = prepareSet(path, env, value, options);
  try {
    return await setIn(store, tx, p);
  } finally {
    p.plaintext.fill(0);
  }
}

/** Stores several secrets in one transaction, all or none: see Vault.setMany. */
export async function setMany(
  store: AuditedStore,
  writes: readonly { path: string; env: string; value: string; options?: SetOptions }[],
  purpose: string,
): Promise<SetResult[]> {
  const prepared: PreparedSet[] = [];
  try {
    const seen = new Set<string>();
    for (const w of writes) {
      const p = prepareSet(w.path, w.env, w.value, w.options ?? {});
      prepared.push(p);
      const slot = `${p.key.path}\n${p.env}`;
      if (seen.has(slot)) {
        throw new CofferError(
          'INVALID_ARGUMENT',
          `${p.key.path} (${p.env}) is written twice in one batch`,
        );
      }
      seen.add(slot);
    }
    const envs = [...new Set(prepared.map((p) => p.env))];
    return await store.op('set_many', { env: envs.length === 1 ? envs[0]! : null }, async (tx) => {
      const results: SetResult[] = [];
      const audit: AuditDraft[] = [];
      for (const p of prepared) {
        const r = await setIn(store, tx, p);
        results.push(r);
        audit.push({
          action: 'set',
          path: r.path,
          env: r.env,
          version: r.version,
          outcome: 'ok',
          detail: purpose,
        });
      }
      return { result: results, detail: `${results.length} secrets for ${purpose}`, audit };
    });
  } finally {
    for (const p of prepared) p.plaintext.fill(0);
  }
}

function notFound(key: KeyPath, env: string): CofferError {
  return new CofferError('SECRET_NOT_FOUND', `no secret ${key.path} in environment ${env}`);
}

/** Soft-deletes a secret: values stay stored and `restore` brings it back. */
export async function deleteSecret(
  store: AuditedStore,
  path: string,
  env: string,
): Promise<{ path: string; env: string; alreadyDeleted: boolean }> {
  const key = parseKeyPath(path);
  const e = parseEnvironment(env);
  return store.op('delete', { path: key.path, env: e }, async (tx) => {
    const secret = await tx.getSecret(key.path, e);
    if (secret === undefined) throw notFound(key, e);
    const already = secret.deletedAt !== null;
    if (!already)
      await tx.updateSecret(key.path, e, { deletedAt: store.ts(), updatedAt: store.ts() });
    return {
      result: { path: key.path, env: e, alreadyDeleted: already },
      version: secret.currentVersion,
    };
  });
}

/** Undoes a soft delete. */
export async function restoreSecret(
  store: AuditedStore,
  path: string,
  env: string,
): Promise<{ path: string; env: string; version: number; wasDeleted: boolean }> {
  const key = parseKeyPath(path);
  const e = parseEnvironment(env);
  return store.op('restore', { path: key.path, env: e }, async (tx) => {
    const secret = await tx.getSecret(key.path, e);
    if (secret === undefined) throw notFound(key, e);
    const was = secret.deletedAt !== null;
    if (was) await tx.updateSecret(key.path, e, { deletedAt: null, updatedAt: store.ts() });
    return {
      result: { path: key.path, env: e, version: secret.currentVersion, wasDeleted: was },
      version: secret.currentVersion,
    };
  });
}
