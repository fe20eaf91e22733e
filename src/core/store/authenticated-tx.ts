/**
 * The storage transaction every vault operation runs in: it MACs each keyring, secret and
 * token row it writes and checks the MAC of each one it reads (row-mac.ts), so a row changed,
 * inserted, moved or stripped of its MAC outside coffer is refused with INTEGRITY_FAILURE
 * before anything acts on it. Callers above it (the vault's operations, key rotation, the
 * token service, the server's token cache) see an ordinary StorageTx and need no change.
 *
 * Partial updates (updateSecret, updateKek, revokeToken) read the row first (checking its
 * MAC, so a forged row is never re-MAC'd by a legitimate update), merge, MAC the result and
 * write it. The row a caller has just read in this transaction is not read again: one
 * transaction is an object, and nothing else writes while it holds the write lock. Meta entries, audit records and secret versions pass through: versions are
 * AEAD-bound to their path, environment, version and key id (crypto/envelope.ts), the
 * master-key check authenticates itself, and the audit chain has its own integrity scheme.
 *
 * Cost on a read: one HMAC-SHA256 over the row (well under the cost of the AES-GCM open), or,
 * for a row this process has verified before and that is unchanged, a comparison of its
 * fields (row-mac.ts).
 */
import { CofferError } from '../errors.js';
import { escapeControls } from '../terminal-text.js';
import {
  kekFields,
  type MacField,
  type MacTable,
  type RowMacKey,
  rowMac,
  rowMacMatches,
  secretFields,
  tokenFields,
} from './row-mac.js';
import type {
  AuditQuery,
  AuditRecord,
  KekRecord,
  MetaEntry,
  SecretFilter,
  SecretRecord,
  SecretWithCurrent,
  StorageTx,
  TokenRecord,
  VersionRecord,
  WrappedKeyRow,
} from './storage.js';

/** A stored row whose MAC does not match: changed, inserted or moved outside coffer. */
export class RowIntegrityError extends CofferError {
  readonly table: MacTable;
  /** The row's key as stored (`k1`, `project/app/db_url (dev)`, a token id). */
  readonly rowKey: string;
  /** The secret's path and environment for a `secrets` row (for the audit record). */
  readonly target: { path: string | null; env: string | null };

  constructor(
    table: MacTable,
    rowKey: string,
    target = { path: null, env: null } as {
      path: string | null;
      env: string | null;
    },
  ) {
    super(
      'INTEGRITY_FAILURE',
      `the stored ${WHAT[table]} ${rowKey} failed its integrity check: it was changed outside coffer`,
    );
    this.table = table;
    this.rowKey = rowKey;
    this.target = target;
  }
}

const WHAT: Record<MacTable, string> = {
  keks: 'key-encryption key',
  secrets: 'secret',
  tokens: 'token',
};

/** Stored text of a forged row can be anything: keep it short, and visible, in a message. */
const short = (s: string): string => escapeControls(s.length > 120 ? `${s.slice(0, 117)}...` : s);

const secretKey = (s: { path: string; env: string }) => `${short(s.path)} (${short(s.env)})`;

/** A patch without its undefined fields (they mean "unchanged"). */
function defined<T extends object>(patch: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(patch)) if (v !== undefined) (out as never)[k] = v as never;
  return out;
}

/** One failed row of `checkRows`. */
export interface RowFailure {
  table: MacTable;
  key: string;
}

/** Every MAC'd row of the vault as stored, and which of them fail their MAC. */
export interface RowCheck {
  keks: KekRecord[];
  secrets: SecretRecord[];
  tokens: TokenRecord[];
  failures: RowFailure[];
  /** The rows (of the lists above) that fail: nothing in them is to be trusted. */
  failed: ReadonlySet<KekRecord | SecretRecord | TokenRecord>;
}

/**
 * Frozen row objects (a storage's read cache hands the same object out again while the row
 * is unchanged) whose MAC was checked, with the key it was checked under.
 */
const verifiedRows = new WeakMap<object, RowMacKey>();

/** Has this very row object passed its MAC under `key` before (and can it not have changed)? */
function verifiedBefore(row: object, key: RowMacKey): boolean {
  return verifiedRows.get(row) === key;
}

/** Remembers a row that passed, if it is frozen (a copy anyone may change is not). */
function noteVerified(row: object, key: RowMacKey): void {
  if (Object.isFrozen(row)) verifiedRows.set(row, key);
}

export class AuthenticatedTx implements StorageTx {
  readonly #tx: StorageTx;
  readonly #key: RowMacKey;
  /** Rows verified in this transaction (copies, by table and key), for partial updates. */
  readonly #seen = new Map<string, KekRecord | SecretRecord | TokenRecord>();
  /** The storage's one-read audit tail where it has one (callers fall back to two reads). */
  readonly auditTail: StorageTx['auditTail'];
  /** The storage's one-statement append with the head where it has one (else two calls). */
  readonly appendAuditWithHead: StorageTx['appendAuditWithHead'];
  /** The storage's one-read secret and version where it has one (else two reads). */
  readonly getSecretVersion: StorageTx['getSecretVersion'];

  constructor(tx: StorageTx, key: RowMacKey) {
    this.#tx = tx;
    this.#key = key;
    this.auditTail = tx.auditTail?.bind(tx);
    this.appendAuditWithHead = tx.appendAuditWithHead?.bind(tx);
    this.getSecretVersion = tx.getSecretVersion === undefined ? undefined : this.#getSecretVersion;
  }

  /** The storage's getSecretVersion, the secret row checked as getSecret checks it. */
  readonly #getSecretVersion = async (
    path: string,
    env: string,
    version: number | undefined,
  ): Promise<{ secret: SecretRecord; version: VersionRecord | undefined } | undefined> => {
    const r = await this.#tx.getSecretVersion!(path, env, version);
    return r === undefined ? undefined : { secret: this.#secret(r.secret), version: r.version };
  };

  #mac(table: MacTable, fields: MacField[]): Uint8Array {
    return rowMac(this.#key, table, fields);
  }

  #kek(k: KekRecord): KekRecord {
    if (!rowMacMatches(this.#key, 'keks', kekFields(k), k.mac)) {
      throw new RowIntegrityError('keks', short(k.id));
    }
    const { mac: _mac, ...row } = k;
    this.#seen.set(`k\0${k.id}`, { ...row });
    return row;
  }

  #secret(s: SecretRecord, remember = true): SecretRecord {
    if (!verifiedBefore(s, this.#key)) {
      if (!rowMacMatches(this.#key, 'secrets', secretFields(s), s.mac)) {
        throw new RowIntegrityError('secrets', secretKey(s), { path: s.path, env: s.env });
      }
      noteVerified(s, this.#key);
    }
    // A copy without the MAC (deleting a property would slow every later use of the row).
    const { mac: _mac, ...row } = s;
    if (remember) this.#seen.set(`s\0${s.path}\0${s.env}`, { ...row });
    return row;
  }

  #token(t: TokenRecord, remember = true): TokenRecord {
    if (!rowMacMatches(this.#key, 'tokens', tokenFields(t), t.mac)) {
      throw new RowIntegrityError('tokens', short(t.id));
    }
    const { mac: _mac, ...row } = t;
    if (remember) this.#seen.set(`t\0${t.id}`, { ...row });
    return row;
  }

  /** The row as verified or written in this transaction, else read (and verified) now. */
  async #current<T>(key: string, read: () => Promise<T | undefined>): Promise<T | undefined> {
    const seen = this.#seen.get(key) as T | undefined;
    return seen === undefined ? read() : seen;
  }

  /**
   * Reads every MAC'd row as stored and lists those that fail (for `verify --all`); the
   * rows are returned whether or not they pass, with their MACs removed.
   */
  async checkRows(): Promise<RowCheck> {
    const failures: RowFailure[] = [];
    const failed = new Set<KekRecord | SecretRecord | TokenRecord>();
    const check = <T extends KekRecord | SecretRecord | TokenRecord>(
      rows: T[],
      table: MacTable,
      fields: (r: T) => MacField[],
      key: (r: T) => string,
    ): T[] => {
      for (const r of rows) {
        if (!rowMacMatches(this.#key, table, fields(r), r.mac)) {
          failures.push({ table, key: key(r) });
          failed.add(r);
        }
        delete r.mac;
      }
      return rows;
    };
    const keks = check(await this.#tx.listKeks(), 'keks', kekFields, (k) => short(k.id));
    const secrets = check(
      await this.#tx.listSecrets({ includeDeleted: true }),
      'secrets',
      secretFields,
      secretKey,
    );
    const tokens = check(await this.#tx.listTokens(), 'tokens', tokenFields, (t) => short(t.id));
    return { keks, secrets, tokens, failures, failed };
  }

  getMeta(key: string): Promise<string | undefined> {
    return this.#tx.getMeta(key);
  }

  setMeta(key: string, value: string): Promise<void> {
    return this.#tx.setMeta(key, value);
  }

  listMeta(prefix?: string, limit?: number): Promise<MetaEntry[]> {
    return this.#tx.listMeta(prefix, limit);
  }

  deleteMeta(key: string): Promise<void> {
    return this.#tx.deleteMeta(key);
  }

  async listKeks(): Promise<KekRecord[]> {
    return (await this.#tx.listKeks()).map((k) => this.#kek(k));
  }

  async getKek(id: string): Promise<KekRecord | undefined> {
    const k = await this.#tx.getKek(id);
    return k === undefined ? undefined : this.#kek(k);
  }

  async insertKek(kek: KekRecord): Promise<void> {
    await this.#tx.insertKek({ ...kek, mac: this.#mac('keks', kekFields(kek)) });
    this.#seen.set(`k\0${kek.id}`, { ...kek });
  }

  async updateKek(
    id: string,
    patch: Partial<Pick<KekRecord, 'sealed' | 'status' | 'retiredAt'>>,
  ): Promise<void> {
    const current = await this.#current(`k\0${id}`, () => this.getKek(id));
    if (current === undefined) return;
    const clean = defined(patch);
    const next = { ...current, ...clean };
    await this.#tx.updateKek(id, { ...clean, mac: this.#mac('keks', kekFields(next)) });
    this.#seen.set(`k\0${id}`, next);
  }

  countWrappedKeys(): Promise<Map<string, number>> {
    return this.#tx.countWrappedKeys();
  }

  listWrappedKeys(kekIds: readonly string[], limit: number): Promise<WrappedKeyRow[]> {
    return this.#tx.listWrappedKeys(kekIds, limit);
  }

  updateWrappedKey(rowId: number, kekId: string, wrappedDek: Uint8Array): Promise<void> {
    return this.#tx.updateWrappedKey(rowId, kekId, wrappedDek);
  }

  async getSecret(path: string, env: string): Promise<SecretRecord | undefined> {
    const s = await this.#tx.getSecret(path, env);
    return s === undefined ? undefined : this.#secret(s);
  }

  async insertSecrets(secrets: readonly SecretRecord[]): Promise<void> {
    await this.#tx.insertSecrets(
      secrets.map((x) => ({ ...x, mac: this.#mac('secrets', secretFields(x)) })),
    );
  }

  async insertSecret(secret: SecretRecord): Promise<void> {
    await this.#tx.insertSecret({ ...secret, mac: this.#mac('secrets', secretFields(secret)) });
    this.#seen.set(`s\0${secret.path}\0${secret.env}`, { ...secret });
  }

  async updateSecret(
    path: string,
    env: string,
    patch: Partial<Omit<SecretRecord, 'path' | 'env' | 'createdAt'>>,
  ): Promise<void> {
    const key = `s\0${path}\0${env}`;
    const current = await this.#current(key, () => this.getSecret(path, env));
    if (current === undefined) return;
    const { mac: _ignored, ...rest } = defined(patch);
    const next = { ...current, ...rest };
    await this.#tx.updateSecret(path, env, {
      ...rest,
      mac: this.#mac('secrets', secretFields(next)),
    });
    this.#seen.set(key, next);
  }

  async listSecrets(filter: SecretFilter): Promise<SecretRecord[]> {
    return (await this.#tx.listSecrets(filter)).map((s) => this.#secret(s, false));
  }

  async listSecretsWithCurrent(filter: SecretFilter): Promise<SecretWithCurrent[]> {
    const rows = await this.#tx.listSecretsWithCurrent(filter);
    for (const r of rows) {
      // Thousands of rows read once, for a report: checked without the verified-row cache,
      // and not copied (the MAC stays on the record; it is no secret).
      if (!rowMacMatches(this.#key, 'secrets', secretFields(r.secret), r.secret.mac, false)) {
        throw new RowIntegrityError('secrets', secretKey(r.secret), {
          path: r.secret.path,
          env: r.secret.env,
        });
      }
    }
    return rows;
  }

  insertVersion(version: VersionRecord): Promise<void> {
    return this.#tx.insertVersion(version);
  }

  insertVersions(versions: readonly VersionRecord[]): Promise<void> {
    return this.#tx.insertVersions(versions);
  }

  listAllVersions(): Promise<VersionRecord[]> {
    return this.#tx.listAllVersions();
  }

  getVersion(path: string, env: string, version: number): Promise<VersionRecord | undefined> {
    return this.#tx.getVersion(path, env, version);
  }

  listVersions(path: string, env: string): Promise<VersionRecord[]> {
    return this.#tx.listVersions(path, env);
  }

  lastAudit(): Promise<AuditRecord | undefined> {
    return this.#tx.lastAudit();
  }

  appendAudit(record: AuditRecord): Promise<void> {
    return this.#tx.appendAudit(record);
  }

  appendAuditBatch(records: readonly AuditRecord[]): Promise<void> {
    return this.#tx.appendAuditBatch(records);
  }

  listAudit(query: AuditQuery): Promise<AuditRecord[]> {
    return this.#tx.listAudit(query);
  }

  async insertToken(token: TokenRecord): Promise<void> {
    await this.#tx.insertToken({ ...token, mac: this.#mac('tokens', tokenFields(token)) });
    this.#seen.set(`t\0${token.id}`, { ...token });
  }

  async getToken(id: string): Promise<TokenRecord | undefined> {
    const t = await this.#tx.getToken(id);
    return t === undefined ? undefined : this.#token(t);
  }

  async getTokenByName(name: string): Promise<TokenRecord | undefined> {
    const t = await this.#tx.getTokenByName(name);
    return t === undefined ? undefined : this.#token(t);
  }

  async listTokens(): Promise<TokenRecord[]> {
    return (await this.#tx.listTokens()).map((t) => this.#token(t, false));
  }

  revokeToken(id: string, revokedAt: string): Promise<boolean> {
    return this.updateToken(id, { revokedAt });
  }

  async updateToken(
    id: string,
    patch: Partial<Pick<TokenRecord, 'revokedAt' | 'mac'>>,
  ): Promise<boolean> {
    const current = await this.#current(`t\0${id}`, () => this.getToken(id));
    if (current === undefined) return false;
    const { mac: _ignored, ...rest } = defined(patch);
    const next = { ...current, ...rest };
    const updated = await this.#tx.updateToken(id, {
      ...rest,
      mac: this.#mac('tokens', tokenFields(next)),
    });
    this.#seen.set(`t\0${id}`, next);
    return updated;
  }
}
