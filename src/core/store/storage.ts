/**
 * The storage interface every backend implements (SQLite file, PostgreSQL), and the records
 * it holds. Storage knows nothing about crypto: it keeps sealed bytes and metadata, and
 * gives the vault service transactions in which an effect and its audit record commit
 * together or not at all.
 *
 * Contract (checked by test/storage-contract.ts against every backend):
 * - `transaction(fn, 'write')` serialises writers across processes and instances: two write
 *   transactions never interleave, so reading the current version and inserting the next one
 *   is race-free. If `fn` throws, nothing it did is kept.
 * - A committed write is visible to every later transaction, in any process.
 * - Byte columns round-trip exactly; text columns round-trip any valid UTF-8.
 */

export interface MetaEntry {
  key: string;
  value: string;
}

export type KekStatus = 'primary' | 'retiring' | 'retired';

/**
 * The MAC of a row that decides access or which value is served (docs/format.md, "Row
 * MACs"). Storage only keeps it: the vault's authenticated transaction
 * (authenticated-tx.ts) computes it on every write and checks it on every read. Backends
 * return null for a row that has none (written before row MACs); writers may leave it out.
 */
export interface RowMac {
  mac?: Uint8Array | null;
}

export interface KekRecord extends RowMac {
  id: string;
  /** The KEK sealed under the master key; null once retired (crypto-shredded). */
  sealed: Uint8Array | null;
  status: KekStatus;
  createdAt: string;
  retiredAt: string | null;
}

export interface SecretMetadata {
  description: string;
  tier: number | null;
  rotation: string | null;
  envVar: string | null;
  localOnly: boolean;
  generator: string | null;
}

export interface SecretRecord extends SecretMetadata, RowMac {
  path: string;
  env: string;
  currentVersion: number;
  createdAt: string;
  updatedAt: string;
  deletedAt: string | null;
}

export interface VersionRecord {
  path: string;
  env: string;
  version: number;
  kekId: string;
  wrappedDek: Uint8Array;
  ciphertext: Uint8Array;
  createdAt: string;
  actor: string;
}

/** A wrapped data key as the key-rotation loop sees it. */
export interface WrappedKeyRow {
  rowId: number;
  path: string;
  env: string;
  version: number;
  kekId: string;
  wrappedDek: Uint8Array;
}

export interface AuditEntry {
  ts: string;
  actor: string;
  action: string;
  path: string | null;
  env: string | null;
  version: number | null;
  outcome: string;
  detail: string | null;
}

export interface AuditRecord extends AuditEntry {
  seq: number;
  prevHash: string;
  hash: string;
}

/**
 * An audit record as a reader gets it: the chain's hashes go only to a reader who may check
 * the whole chain. In a partial view, the hashes on either side of a record left out would
 * let the reader test guesses about it (every field of a record is guessable).
 */
export type ShownAuditRecord = Omit<AuditRecord, 'prevHash' | 'hash'> &
  Partial<Pick<AuditRecord, 'prevHash' | 'hash'>>;

export type TokenCapability = 'read' | 'list' | 'write' | 'delete' | 'admin';

/** An API token of `coffer serve`. The token itself is never stored, only its hash. */
export interface TokenRecord extends RowMac {
  /** Public id, part of the token string; safe to show and log. */
  id: string;
  /** Unique human name (`deploy`, `ci-staging`); goes into the audit log. */
  name: string;
  /** Lowercase hex SHA-256 of the token's secret part. */
  hash: string;
  /** Key-path globs the token may touch (`project/app/*`). */
  allow: string[];
  /** Environments the token may touch; empty means any. */
  envs: string[];
  caps: TokenCapability[];
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  /**
   * The token may not read values (`coffer token create --no-reveal`): stored in the row's
   * `reveal` column (`never`, NULL otherwise) and covered by its MAC. Absent = false.
   */
  noReveal?: boolean;
}

/** A secret and the stamp of its current version (`listSecretsWithCurrent`). */
export interface SecretWithCurrent {
  secret: SecretRecord;
  currentCreatedAt: string | null;
  currentActor: string | null;
}

export interface SecretFilter {
  scope?: string;
  group?: string;
  env?: string;
  includeDeleted?: boolean;
}

export interface AuditQuery {
  afterSeq?: number;
  limit?: number;
  path?: string;
  /** Only the records of this action (`sync`, `get`, ...). */
  action?: string;
  /** Newest first when true. */
  descending?: boolean;
}

/** Operations available inside a transaction. */
export interface StorageTx {
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;
  /**
   * The meta entries whose key starts with `prefix` (every entry without one: a backup copies
   * them all), by key. With `limit`, only the first `limit` of them in the byte order of their
   * keys (UTF-8): a bounded read of the oldest entries of a time-ordered key range.
   */
  listMeta(prefix?: string, limit?: number): Promise<MetaEntry[]>;
  /** Removes a meta entry (nothing when there is none). */
  deleteMeta(key: string): Promise<void>;

  listKeks(): Promise<KekRecord[]>;
  getKek(id: string): Promise<KekRecord | undefined>;
  insertKek(kek: KekRecord): Promise<void>;
  updateKek(
    id: string,
    patch: Partial<Pick<KekRecord, 'sealed' | 'status' | 'retiredAt' | 'mac'>>,
  ): Promise<void>;
  /** How many secret versions each KEK wraps. */
  countWrappedKeys(): Promise<Map<string, number>>;
  /** Up to `limit` wrapped keys under any of `kekIds`. */
  listWrappedKeys(kekIds: readonly string[], limit: number): Promise<WrappedKeyRow[]>;
  updateWrappedKey(rowId: number, kekId: string, wrappedDek: Uint8Array): Promise<void>;

  getSecret(path: string, env: string): Promise<SecretRecord | undefined>;
  /**
   * `getSecret(path, env)` and, for a secret that exists, `getVersion(path, env, version ??
   * its currentVersion)` in one read, where a backend can do that in one round trip
   * (PostgreSQL); optional: callers fall back to the two reads. `version` is undefined when
   * that version row does not exist.
   */
  getSecretVersion?:
    | ((
        path: string,
        env: string,
        version: number | undefined,
      ) => Promise<{ secret: SecretRecord; version: VersionRecord | undefined } | undefined>)
    | undefined;
  insertSecret(secret: SecretRecord): Promise<void>;
  /** Inserts many secrets (few statements: a restore copies a whole vault). */
  insertSecrets(secrets: readonly SecretRecord[]): Promise<void>;
  updateSecret(
    path: string,
    env: string,
    patch: Partial<Omit<SecretRecord, 'path' | 'env' | 'createdAt'>>,
  ): Promise<void>;
  listSecrets(filter: SecretFilter): Promise<SecretRecord[]>;
  /**
   * `listSecrets` with when and by whom each secret's current version was stored, in one
   * query (`rotation status` over thousands of secrets makes no round trip per secret).
   * `currentCreatedAt`/`currentActor` are null when that version row is missing.
   */
  listSecretsWithCurrent(filter: SecretFilter): Promise<SecretWithCurrent[]>;

  insertVersion(version: VersionRecord): Promise<void>;
  /** Inserts many versions (few statements: a restore copies a whole vault). */
  insertVersions(versions: readonly VersionRecord[]): Promise<void>;
  getVersion(path: string, env: string, version: number): Promise<VersionRecord | undefined>;
  listVersions(path: string, env: string): Promise<VersionRecord[]>;
  /** Every version of every secret, by path, environment and version (one query). */
  listAllVersions(): Promise<VersionRecord[]>;

  /** The newest audit record, or undefined for an empty log. */
  lastAudit(): Promise<AuditRecord | undefined>;
  /**
   * `lastAudit()` and `getMeta(headKey)` in one read, where a backend can do that in one
   * round trip (PostgreSQL); optional: callers fall back to the two reads.
   */
  auditTail?:
    | ((headKey: string) => Promise<{ last: AuditRecord | undefined; head: string | undefined }>)
    | undefined;
  appendAudit(record: AuditRecord): Promise<void>;
  /** Appends several records in order (one round trip where the backend allows). */
  appendAuditBatch(records: readonly AuditRecord[]): Promise<void>;
  /**
   * `appendAuditBatch(records)` and `setMeta(headKey, head)` in one statement, where a
   * backend can do that in one round trip (PostgreSQL); optional: callers fall back to the
   * two calls.
   */
  appendAuditWithHead?:
    | ((records: readonly AuditRecord[], headKey: string, head: string) => Promise<void>)
    | undefined;
  listAudit(query: AuditQuery): Promise<AuditRecord[]>;

  /** Throws when the id or the name is already taken. */
  insertToken(token: TokenRecord): Promise<void>;
  getToken(id: string): Promise<TokenRecord | undefined>;
  getTokenByName(name: string): Promise<TokenRecord | undefined>;
  /** Every token, revoked ones included, oldest first. */
  listTokens(): Promise<TokenRecord[]>;
  /** Sets revokedAt; returns false when no such token exists. */
  revokeToken(id: string, revokedAt: string): Promise<boolean>;
  /** Sets the given fields; returns false when no such token exists. */
  updateToken(id: string, patch: Partial<Pick<TokenRecord, 'revokedAt' | 'mac'>>): Promise<boolean>;
}

export type TxMode = 'read' | 'write';

export interface TxOptions {
  /**
   * A write transaction may return once committed, before its commit is on disk: it is
   * visible to every reader at once and survives a crash of the process that made it, but
   * a power loss or OS crash within a short window after it can lose it (SQLite with group
   * commit: 10 ms; PostgreSQL, where a crash of the database server can too:
   * synchronous_commit=off, up to 3 x wal_writer_delay). The store stays consistent: it
   * comes back as of an earlier commit. For the audit records of a server's reads. Ignored
   * where the backend has no such mode (SQLite without group commit).
   */
  deferSync?: boolean;
}

export interface Storage {
  /** 'sqlite' or 'postgres'; shown by `coffer key status` and in logs. */
  readonly kind: string;
  /** A human-readable location (file path or redacted URL). */
  readonly location: string;
  transaction<T>(mode: TxMode, fn: (tx: StorageTx) => Promise<T>, options?: TxOptions): Promise<T>;
  close(): Promise<void>;
}
