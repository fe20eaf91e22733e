/**
 * What a SQLite vault's transactions read most, remembered between transactions while no
 * other connection has written: the secret and version rows a read asks for, the last audit
 * record and the meta entries (the audit head, the master-key check).
 *
 * A server answers each read with one transaction that reads a secret, its version, the
 * audit tail and the audit head, and writes one audit record and the new head. With the
 * connection's own writes kept here as they are made, the next such transaction needs none
 * of those reads: the rows are known, and their MACs were checked when they were first read
 * (AuthenticatedTx checks a row object once; the secret rows here are frozen, and their
 * `mac` bytes are only ever read). A version is handed out as a copy with its own byte
 * arrays, as from the database: a caller may wipe what it got.
 *
 * The rule that keeps it exact: SQLite's `PRAGMA data_version` changes whenever another
 * connection commits (another process, another storage on the same file, a test tampering
 * with the file); SqliteStorage reads it at the start of every transaction and forgets
 * everything here when it moved. It forgets everything too when a transaction rolls back
 * (what it wrote never happened) and on any write other than the few kept here (a new
 * write method is safe by default). A connection handed out for raw SQL (SqliteStorage
 * .database) turns the cache off for good.
 */
import type {
  AuditRecord,
  SecretRecord,
  StorageTx,
  VersionRecord,
} from '../../core/store/storage.js';

/** StorageTx methods that never write: they pass through and keep the cache. */
const READ_ONLY = new Set<string>([
  'listMeta',
  'listKeks',
  'getKek',
  'countWrappedKeys',
  'listWrappedKeys',
  'listSecrets',
  'listSecretsWithCurrent',
  'listVersions',
  'listAllVersions',
  'listAudit',
  'getToken',
  'getTokenByName',
  'listTokens',
]);

/** Entries per map before it is emptied (a server reads a few secrets over and over). */
const MAX_ENTRIES = 4096;

const key2 = (a: string, b: string) => `${a}\u0000${b}`;

// Copies spelled out rather than spread: a spread with more properties takes V8's slow
// path (about a microsecond each on Node 20), on the path of every read a server answers.

/** A version with its own byte arrays: the caller may wipe what it got. */
function versionCopy(v: VersionRecord): VersionRecord {
  return {
    path: v.path,
    env: v.env,
    version: v.version,
    kekId: v.kekId,
    wrappedDek: v.wrappedDek.slice(),
    ciphertext: v.ciphertext.slice(),
    createdAt: v.createdAt,
    actor: v.actor,
  };
}

/** A frozen copy of an audit record (the caller's object stays as it is). */
function frozenAudit(a: AuditRecord): AuditRecord {
  return Object.freeze({
    seq: a.seq,
    ts: a.ts,
    actor: a.actor,
    action: a.action,
    path: a.path,
    env: a.env,
    version: a.version,
    outcome: a.outcome,
    detail: a.detail,
    prevHash: a.prevHash,
    hash: a.hash,
  });
}

export class ReadCache {
  readonly #meta = new Map<string, string | undefined>();
  readonly #secrets = new Map<string, SecretRecord | undefined>();
  readonly #versions = new Map<string, VersionRecord | undefined>();
  /** The last audit record, when known (`{ rec: undefined }`: the log is empty). */
  #last: { rec: AuditRecord | undefined } | undefined;
  enabled = true;

  clear(): void {
    this.#meta.clear();
    this.#secrets.clear();
    this.#versions.clear();
    this.#last = undefined;
  }

  /** `tx` with its reads remembered and its writes kept or forgetting everything. */
  wrap(tx: StorageTx): StorageTx {
    const out: Record<string, unknown> = {};
    for (const [name, fn] of Object.entries(tx) as [string, (...a: unknown[]) => unknown][]) {
      out[name] = READ_ONLY.has(name)
        ? fn
        : (...args: unknown[]) => {
            this.clear();
            return fn(...args);
          };
    }
    const remember = <K, V>(map: Map<K, V>, k: K, v: V): V => {
      if (!this.enabled) return v;
      if (map.size >= MAX_ENTRIES) map.clear();
      map.set(k, v);
      return v;
    };
    const frozen = <T extends object | undefined>(v: T): T =>
      v === undefined ? v : Object.freeze(v);
    const cached: Partial<StorageTx> = {
      getMeta: async (key) => {
        if (this.#meta.has(key)) return this.#meta.get(key);
        return remember(this.#meta, key, await tx.getMeta(key));
      },
      setMeta: async (key, value) => {
        await tx.setMeta(key, value);
        remember(this.#meta, key, value);
      },
      getSecret: async (path, env) => {
        const k = key2(path, env);
        if (this.#secrets.has(k)) return this.#secrets.get(k);
        return remember(this.#secrets, k, frozen(await tx.getSecret(path, env)));
      },
      getVersion: async (path, env, version) => {
        const k = `${key2(path, env)}\u0000${version}`;
        const v = this.#versions.has(k)
          ? this.#versions.get(k)
          : remember(this.#versions, k, await tx.getVersion(path, env, version));
        // The caller owns the bytes it gets (it may wipe them): a copy of each array.
        return v === undefined ? undefined : versionCopy(v);
      },
      lastAudit: async () => {
        if (this.#last !== undefined) return this.#last.rec;
        const rec = frozen(await tx.lastAudit());
        if (this.enabled) this.#last = { rec };
        return rec;
      },
      appendAudit: async (record) => {
        this.#last = undefined;
        await tx.appendAudit(record);
        if (this.enabled) this.#last = { rec: frozenAudit(record) };
      },
      appendAuditBatch: async (records) => {
        this.#last = undefined;
        await tx.appendAuditBatch(records);
        const rec = records.at(-1);
        if (this.enabled && rec !== undefined) this.#last = { rec: frozenAudit(rec) };
      },
    };
    return { ...(out as unknown as StorageTx), ...cached };
  }
}
