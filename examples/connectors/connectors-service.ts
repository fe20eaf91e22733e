/**
 * The connectors service of the seeds, on coffer/envelope: OAuth tokens of external accounts
 * (GitHub, Google, ...) are stored encrypted in `external_accounts.access_token`, one JSON
 * envelope per row, bound to its row (`external_accounts/access_token/<id>`), under the
 * primary key of a keyring read from the environment (see README.md).
 *
 * Rows written before encryption was enabled (plaintext `access_token` / `refresh_token`
 * columns) are read in migration mode only when the service is told to, are reported, and
 * are encrypted the next time their tokens are updated.
 */
import type Database from 'better-sqlite3';
import {
  type DataKeyring,
  encryptJsonBlob,
  envelopeKeyId,
  openJsonBlob,
  rowContext,
} from 'coffer/envelope';

/** What the OAuth provider returned: the fields the seeds encrypt. */
export interface Tokens {
  access_token: string;
  refresh_token?: string | null;
  token_type?: string;
  expires_in?: number;
  expires_at?: number;
  scope?: string;
}

export interface ConnectorsOptions {
  /** Read legacy plaintext rows (migration mode); `onPlaintext` hears about each one. */
  readLegacyPlaintext?: boolean;
  onPlaintext?: (accountId: number) => void;
}

interface Row {
  id: number;
  access_token: string | null;
  refresh_token: string | null;
}

const context = (id: number | bigint) => rowContext('external_accounts', 'access_token', id);

/** Creates the table (the seeds' shape). WAL lets a re-wrap job run beside the app. */
export function migrate(db: Database.Database): void {
  db.pragma('journal_mode = WAL');
  db.exec(`CREATE TABLE IF NOT EXISTS external_accounts (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    access_token TEXT,
    refresh_token TEXT,
    updated_at TEXT NOT NULL
  )`);
}

export class ConnectorsService {
  #keyring: DataKeyring;
  readonly #db: Database.Database;
  readonly #options: ConnectorsOptions;

  constructor(db: Database.Database, keyring: DataKeyring, options: ConnectorsOptions = {}) {
    this.#db = db;
    this.#keyring = keyring;
    this.#options = options;
  }

  /** Swaps the keyring (a rotation step: new key first, then old key removed). */
  setKeyring(keyring: DataKeyring): void {
    this.#keyring = keyring;
  }

  /** Stores a new account; the envelope is bound to the row id, so it is made after INSERT. */
  createAccount(userId: string, provider: string, tokens: Tokens): number {
    return this.#db.transaction(() => {
      const { lastInsertRowid } = this.#db
        .prepare(
          "INSERT INTO external_accounts (user_id, provider, updated_at) VALUES (?, ?, datetime('now'))",
        )
        .run(userId, provider);
      const id = Number(lastInsertRowid);
      this.#write(id, tokens);
      return id;
    })();
  }

  /** The decrypted tokens of an account. Throws a CofferError when they cannot be read. */
  getAccountTokens(id: number): Tokens {
    const row = this.#db
      .prepare('SELECT id, access_token, refresh_token FROM external_accounts WHERE id = ?')
      .get(id) as Row | undefined;
    if (row === undefined || row.access_token === null) throw new Error(`no account ${id}`);
    const opened = openJsonBlob<Tokens | string>(row.access_token, this.#keyring, {
      context: context(id),
      allowPlaintext: this.#options.readLegacyPlaintext === true,
    });
    if (opened.plaintext) this.#options.onPlaintext?.(id);
    // A legacy row (or one encrypted column by column): the raw access token is a string and
    // the refresh token sits in its own column.
    return typeof opened.value === 'string'
      ? { access_token: opened.value, refresh_token: row.refresh_token }
      : (opened.value as Tokens);
  }

  /**
   * Encrypts every legacy plaintext row (tokens in `access_token` and `refresh_token`) into
   * one envelope, as `updateAccountTokens` would; returns how many rows it changed. Needs
   * `readLegacyPlaintext`. Run it once after enabling encryption; it skips rows already
   * encrypted, so running it again is harmless.
   */
  encryptLegacyRows(): number {
    const ids = this.#db
      .prepare('SELECT id, access_token FROM external_accounts WHERE access_token IS NOT NULL')
      .all() as Array<{ id: number; access_token: string }>;
    let changed = 0;
    for (const { id, access_token } of ids) {
      if (envelopeKeyId(access_token) !== undefined) continue;
      this.#db.transaction(() => {
        this.#write(id, this.getAccountTokens(id));
      })();
      changed++;
    }
    return changed;
  }

  /** Re-envelopes refreshed tokens (always under the current primary key). */
  updateAccountTokens(id: number, tokens: Tokens): void {
    this.#write(id, tokens);
  }

  #write(id: number, tokens: Tokens): void {
    const envelope = encryptJsonBlob(tokens, this.#keyring, { context: context(id) });
    // The refresh token travels inside the envelope; the plaintext column is cleared.
    const changed = this.#db
      .prepare(
        "UPDATE external_accounts SET access_token = ?, refresh_token = NULL, updated_at = datetime('now') WHERE id = ?",
      )
      .run(envelope, id).changes;
    if (changed !== 1) throw new Error(`no account ${id}`);
  }
}
