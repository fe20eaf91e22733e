/**
 * The vault service: every operation on secrets, with its rules and its audit record.
 *
 * Front ends (CLI, MCP, HTTP) call this and nothing below it, so a rule enforced here holds
 * for all of them. Each operation runs in one storage transaction together with its audit
 * record: if the record cannot be written the operation fails and nothing changes (fail
 * closed). Failed and denied attempts are audited too, in a transaction of their own.
 *
 * Values are strings of at most 64 KiB of UTF-8. They are sealed per version with their own
 * data key (crypto/envelope.ts); they never enter an error message, a log or the audit log.
 *
 * Every transaction that touches keyring, secret or token rows runs through an
 * AuthenticatedTx (authenticated-tx.ts), which MACs what it writes and refuses a row whose
 * MAC fails; a vault written before row MACs is migrated once, in a transaction of its own,
 * the first time it is opened with its master key (row-migration.ts).
 *
 * This class is the public face only. The audited-transaction machinery is in
 * audited-store.ts; the operations in vault-reads.ts (get, getMany, readProject),
 * vault-writes.ts (set, setMany, delete, restore), vault-metadata.ts (list, info, history,
 * describe) and vault-verify.ts; the value rules in values.ts; the types in vault-types.ts.
 */
import type { AccessPolicy } from '../access/policy.js';
import { Keyring } from '../keys/keyring.js';
import { localSecretsService } from '../service/local-service.js';
import type { SecretsService } from '../service/secrets-service.js';
import { type AuditDraft, AuditedStore } from './audited-store.js';
import { RowIntegrityError } from './authenticated-tx.js';
import type { SecretMetadata, Storage, StorageTx } from './storage.js';
import { describeSecret, listSecrets, secretHistory, secretInfo } from './vault-metadata.js';
import { getMany, getSecret, readInTransaction, readProject, valueDigests } from './vault-reads.js';
import type {
  ProjectSecret,
  ReadOutcome,
  ReadRequest,
  SecretInfo,
  SecretValue,
  SetOptions,
  SetResult,
  VaultOptions,
  VerifyReport,
  VersionInfo,
} from './vault-types.js';
import { verifySecrets } from './vault-verify.js';
import {
  checkSetSecret,
  deleteSecret,
  restoreSecret,
  setInTransaction,
  setMany,
  setSecret,
} from './vault-writes.js';

export { META_AUDIT_HEAD } from '../audit/head.js';
export { assertValueGiven, emptyValueError, MAX_VALUE_BYTES, valueBytes } from './values.js';
export {
  copySecretValue,
  type ProjectSecret,
  type ReadOutcome,
  type ReadRequest,
  type SecretInfo,
  type SecretValue,
  type SetOptions,
  type SetResult,
  type VaultOptions,
  type VerifyItem,
  type VerifyReport,
  type VersionInfo,
} from './vault-types.js';

const allowAll = (): boolean => true;

/** What `Vault.secretTransaction` gives its function: one secret, inside one transaction. */
export interface SecretTransaction {
  tx: StorageTx;
  keyring: Keyring;
  /** The vault's clock. */
  now: () => Date;
  /** Opens the current (or a given) version. */
  read(version?: number): Promise<SecretValue>;
  /** Stores a new version. */
  write(value: string, options: SetOptions): Promise<SetResult>;
}

export class Vault {
  readonly storage: Storage;
  readonly #store: AuditedStore;

  /** `masterKey` is the 32-byte master key (or the unlocked keyring of another Vault). */
  constructor(storage: Storage, masterKey: Uint8Array | Keyring, options: VaultOptions) {
    this.storage = storage;
    const keyring = masterKey instanceof Keyring ? masterKey : new Keyring(masterKey);
    this.#store = new AuditedStore(
      storage,
      keyring,
      options.actor,
      options.now ?? (() => new Date()),
    );
  }

  get actor(): string {
    return this.#store.actor;
  }

  /** The vault's clock (its records' time; a test's clock in tests). */
  now(): Date {
    return this.#store.now();
  }

  /**
   * The same vault (storage and unlocked keys) acting as someone else, for the audit log:
   * one per HTTP request (token name and client address) or per MCP client.
   */
  withActor(actor: string): Vault {
    return new Vault(this.storage, this.#store.keyring, { actor, now: this.#store.now });
  }

  /**
   * This vault as the SecretsService every front end uses (core/service), acting as
   * `actor`; with `policy`, each call is decided by core/access first (a refusal audited as
   * `denied`) and listings and project reads are bounded by it.
   */
  as(actor: string, policy?: AccessPolicy): SecretsService {
    return localSecretsService(actor === this.actor ? this : this.withActor(actor), { policy });
  }

  /** Stores a new version of a secret (creating it, or reviving a deleted one). */
  set(path: string, env: string, value: string, options: SetOptions = {}): Promise<SetResult> {
    return setSecret(this.#store, path, env, value, options);
  }

  /**
   * Refuses, before the value is asked for, a `set` that would be refused whatever the value:
   * a new secret without a description, a check-and-set version that is not the current one.
   */
  checkSet(
    path: string,
    env: string,
    options: Pick<SetOptions, 'description' | 'ifVersion'> = {},
  ): Promise<void> {
    return checkSetSecret(this.#store, path, env, options);
  }

  /**
   * Stores several secrets in one transaction: all of them or none (`coffer env import`).
   * Every write is checked before the transaction starts (path, environment, value,
   * description) and again inside it (a missing description, `ifVersion`); the first
   * refusal rolls every write back. Each write gets its own `set` audit record, and the
   * whole its `set_many` record (detail: how many, and `purpose`).
   */
  setMany(
    writes: readonly { path: string; env: string; value: string; options?: SetOptions }[],
    purpose: string,
  ): Promise<SetResult[]> {
    return setMany(this.#store, writes, purpose);
  }

  /** Reads the latest (or a given) version of a secret. */
  get(
    path: string,
    env: string,
    options: { version?: number | undefined } = {},
  ): Promise<SecretValue> {
    return getSecret(this.#store, path, env, options);
  }

  /**
   * Many reads in one write transaction (group commit: a server batches the reads that
   * arrive together, so they share one commit instead of one each). Each read gets its own
   * audit record (action `get`, its own actor), exactly as `get` writes it; a read that
   * fails alone (not found, deleted, bad path) fails alone and is audited as failed. No
   * value is returned before the transaction holding every record has committed: when it
   * fails, every read fails with its error. Reads of the same secret and version in one
   * batch decrypt it once (one record each all the same).
   *
   * With `deferSync` the values are returned once the transaction has committed, before
   * the commit is on disk (see TxOptions: a power loss right after can lose the records).
   */
  getMany(
    requests: readonly ReadRequest[],
    options: { deferSync?: boolean } = {},
  ): Promise<ReadOutcome[]> {
    return getMany(this.#store, requests, options);
  }

  /**
   * Lists secrets (metadata only, never values). `prefix` is `project`, `meta`,
   * `project/P` or `meta/S`; `env` undefined lists every environment.
   */
  list(
    options: {
      prefix?: string | undefined;
      env?: string | undefined;
      includeDeleted?: boolean;
      /** Bounds the listing (a policy's paths and environments), count in the audit included. */
      within?: ((path: string, env: string) => boolean) | undefined;
    } = {},
  ): Promise<SecretInfo[]> {
    return listSecrets(this.#store, options);
  }

  /**
   * Reads every live secret of a project in one environment (for `run` and `env pull`).
   * Each value read gets its own audit record (action `get`, detail `purpose`), written in
   * the same transaction; nothing is returned unless all of them are written. `allows`
   * narrows the read to some key paths and environments (a server token's globs and
   * environments): the others are not opened, nor named in errors.
   *
   * A project with no live secret the caller may read in `env` is refused (not found,
   * project-lookup.ts): PROJECT_NOT_FOUND or ENVIRONMENT_NOT_FOUND, naming the projects or
   * environments that exist and the closest match, so a mistyped name never runs a program
   * without its secrets.
   */
  readProject(
    project: string,
    env: string,
    purpose: string,
    allows: (path: string, env: string) => boolean = allowAll,
  ): Promise<ProjectSecret[]> {
    return readProject(this.#store, project, env, purpose, allows);
  }

  /** The metadata of one secret (deleted ones included). */
  info(path: string, env: string): Promise<SecretInfo> {
    return secretInfo(this.#store, path, env);
  }

  /** The versions of a secret, oldest first, without values. */
  history(path: string, env: string): Promise<{ secret: SecretInfo; versions: VersionInfo[] }> {
    return secretHistory(this.#store, path, env);
  }

  /** Soft-deletes a secret: values stay stored and `restore` brings it back. */
  delete(
    path: string,
    env: string,
  ): Promise<{ path: string; env: string; alreadyDeleted: boolean }> {
    return deleteSecret(this.#store, path, env);
  }

  /** Undoes a soft delete. */
  restore(
    path: string,
    env: string,
  ): Promise<{ path: string; env: string; version: number; wasDeleted: boolean }> {
    return restoreSecret(this.#store, path, env);
  }

  /** Changes metadata (description, tier, rotation policy, env-var name, local-only, generator). */
  describe(path: string, env: string, patch: Partial<SecretMetadata>): Promise<SecretInfo> {
    return describeSecret(this.#store, path, env, patch);
  }

  /**
   * Decrypts and authenticates every version of one secret (path + env), or of every secret
   * in the vault when `path` is undefined, plus every sealed key in the keyring and the MAC
   * of every keyring, secret and token row.
   */
  verify(path?: string, env?: string): Promise<VerifyReport> {
    return verifySecrets(this.#store, path, env);
  }

  /**
   * Audits a request a front end refused before it reached the vault (a server token outside
   * its paths, environments or capabilities, or an unknown token): outcome `denied`, the
   * vault's actor, `reason` as the detail. Fails with AUDIT_WRITE_FAILED like any record.
   */
  async recordDenied(
    action: string,
    target: { path?: string | null | undefined; env?: string | null | undefined },
    reason: string,
  ): Promise<void> {
    await this.#record(action, [{ target, outcome: 'denied', detail: reason }]);
  }

  /**
   * Audits stored records an operation left out because they failed their integrity check
   * (changed outside coffer), one `integrity_failure` record each naming its key, in one
   * transaction. For listings that show the rest instead of failing on one forged record.
   */
  async recordSkipped(action: string, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.#record(
      action,
      keys.map((key) => ({
        target: {},
        outcome: 'integrity_failure',
        detail: `INTEGRITY_FAILURE ${key}`,
      })),
    );
  }

  async #record(
    action: string,
    records: {
      target: { path?: string | null | undefined; env?: string | null | undefined };
      outcome: string;
      detail: string;
    }[],
  ): Promise<void> {
    await this.#store.transaction('write', (tx) =>
      this.#store.audit(
        tx,
        records.map(({ target, outcome, detail }) => ({
          action,
          path: target.path ?? null,
          env: target.env ?? null,
          version: null,
          outcome,
          detail,
        })),
      ),
    );
  }

  /**
   * Runs `fn` in a read transaction after checking the master key (used by audit, keys and
   * the server's token lookups). A stored row that fails its MAC is audited and refused.
   */
  async readTransaction<T>(fn: (tx: StorageTx, keyring: Keyring) => Promise<T>): Promise<T> {
    const store = this.#store;
    try {
      return await store.read((tx) => fn(tx, store.keyring));
    } catch (err) {
      if (err instanceof RowIntegrityError) await store.auditFailure('read', err.target, err);
      throw err;
    }
  }

  /**
   * Runs an audited write operation (used by key rotation); `audit` adds records before the
   * operation's own (e.g. one per secret a file write carried). `outcome: 'denied'` records
   * an operation the caller's policy refused in the transaction (nothing written), with the
   * reason as its detail.
   */
  auditedTransaction<T>(
    action: string,
    fn: (
      tx: StorageTx,
      keyring: Keyring,
    ) => Promise<{ result: T; detail?: string | null; outcome?: 'denied'; audit?: AuditDraft[] }>,
    target: { path?: string | null; env?: string | null } = {},
  ): Promise<T> {
    const store = this.#store;
    return store.op(action, target, (tx) => fn(tx, store.keyring));
  }

  /**
   * Keyed digests (HMAC-SHA256 under `key`) of stored versions, for comparisons that show no
   * value (the web UI's "same value in dev and prod"); the plaintexts are zeroed at once.
   * One `compare` record for the batch, under `scope` (a project prefix).
   */
  valueDigests(
    scope: string,
    items: readonly { path: string; env: string; version: number }[],
    key: Uint8Array,
  ): Promise<Buffer[]> {
    return valueDigests(this.#store, scope, items, key);
  }

  /**
   * Runs an audited write operation on one secret that reads and stores its versions in the
   * same transaction (rotation: the new version, the rotation state and the audit record
   * commit together or not at all). `read` and `write` follow get's and set's rules.
   */
  secretTransaction<T>(
    action: string,
    target: { path: string; env: string },
    fn: (ops: SecretTransaction) => Promise<{
      result: T;
      version?: number | null;
      detail?: string | null;
    }>,
  ): Promise<T> {
    const store = this.#store;
    return store.op(action, target, (tx) =>
      fn({
        tx,
        keyring: store.keyring,
        now: store.now,
        read: (version) => readInTransaction(store, tx, target.path, target.env, version),
        write: (value, options) =>
          setInTransaction(store, tx, target.path, target.env, value, options),
      }),
    );
  }

  /** Wipes key material held by this object. The storage stays open (its owner closes it). */
  close(): void {
    this.#store.keyring.close();
  }
}
