/**
 * The audited-transaction machinery under every vault operation (vault-*.ts): a storage
 * transaction through an AuthenticatedTx after the master-key check, the one-time row-MAC
 * migration of an old vault, and the audit records written with each operation.
 *
 * An operation runs in one transaction together with its audit record: if the record cannot
 * be written the operation fails and nothing changes (fail closed). A failed or denied
 * operation is audited too, in a transaction of its own. Not part of the public API: Vault
 * (vault.ts) is.
 */
import { appendAudit } from '../audit/append.js';
import { openSecret } from '../crypto/envelope.js';
import { CofferError } from '../errors.js';
import type { Keyring } from '../keys/keyring.js';
import { AuthenticatedTx, RowIntegrityError } from './authenticated-tx.js';
import { migrateToRowMacs } from './row-migration.js';
import type {
  AuditEntry,
  Storage,
  StorageTx,
  TxMode,
  TxOptions,
  VersionRecord,
} from './storage.js';

export type Target = { path?: string | null; env?: string | null };
/** An audit record before chaining; `actor` defaults to the store's own. */
export type AuditDraft = Omit<AuditEntry, 'ts' | 'actor'> & { actor?: string };
/** A failed operation to audit (`actor` defaults to the store's own). */
export type Failure = { action: string; target: Target; err: unknown; actor?: string | undefined };

export type OpResult<T> = {
  result: T;
  version?: number | null;
  detail?: string | null;
  outcome?: string;
  /** Records written before the operation's own one (e.g. one per value read). */
  audit?: AuditDraft[];
};

const OUTCOME_BY_CLASS: Record<string, string> = {
  integrity: 'integrity_failure',
  not_found: 'not_found',
  conflict: 'conflict',
  usage: 'invalid',
  failure: 'error',
};

/** Thrown where a transaction meets a vault written before row MACs (never leaves the store). */
class LegacyVault extends Error {}

/** The audit record of a failed operation; undefined when none can or should be written. */
export function failureDraft(action: string, target: Target, err: unknown): AuditDraft | undefined {
  const code = err instanceof CofferError ? err.code : 'INTERNAL';
  if (
    code === 'AUDIT_WRITE_FAILED' ||
    code === 'AUDIT_CHAIN_BROKEN' ||
    code === 'VAULT_NOT_FOUND' ||
    code === 'STORE_LOCKED'
  )
    return undefined;
  const outcome =
    code === 'WRONG_KEY'
      ? 'denied'
      : err instanceof CofferError
        ? OUTCOME_BY_CLASS[err.errorClass]!
        : 'error';
  return {
    action,
    path: target.path ?? null,
    env: target.env ?? null,
    version: null,
    outcome,
    detail: err instanceof RowIntegrityError ? `${code} ${err.table} ${err.rowKey}` : code,
  };
}

/** A storage with its unlocked keyring, acting as one actor: what each operation runs on. */
export class AuditedStore {
  readonly storage: Storage;
  readonly keyring: Keyring;
  readonly actor: string;
  readonly now: () => Date;

  constructor(storage: Storage, keyring: Keyring, actor: string, now: () => Date) {
    this.storage = storage;
    this.keyring = keyring;
    this.actor = actor;
    this.now = now;
  }

  ts(): string {
    return this.now().toISOString();
  }

  /**
   * Appends audit records after checking the stored head (audit/append.ts): a broken chain
   * fails with AUDIT_CHAIN_BROKEN, anything else with AUDIT_WRITE_FAILED, and either rolls
   * the whole transaction back. `keyed` is false only for the denial of a wrong master key.
   */
  async audit(tx: StorageTx, entries: AuditDraft[], keyed = true): Promise<void> {
    const ts = this.ts();
    const records = entries.map((d) => ({
      ts,
      actor: d.actor ?? this.actor,
      action: d.action,
      path: d.path,
      env: d.env,
      version: d.version,
      outcome: d.outcome,
      detail: d.detail,
    }));
    if (keyed) await this.keyring.unlock(tx);
    await appendAudit(tx, records, keyed ? this.keyring.auditHeadKey() : undefined);
  }

  /**
   * Runs `fn` in a storage transaction through an AuthenticatedTx, after checking the master
   * key. A vault written before row MACs is migrated first, in a write transaction of its
   * own (so a read can trigger it too), and `fn` runs after that.
   */
  async transaction<T>(
    mode: TxMode,
    fn: (tx: AuthenticatedTx) => Promise<T>,
    options?: TxOptions,
  ): Promise<T> {
    const run = () =>
      this.storage.transaction(mode, async (raw) => fn(await this.#open(raw)), options);
    try {
      return await run();
    } catch (err) {
      if (!(err instanceof LegacyVault)) throw err;
    }
    await this.#migrate();
    return run();
  }

  async #open(raw: StorageTx): Promise<AuthenticatedTx> {
    if ((await this.keyring.unlock(raw)) === 'legacy') throw new LegacyVault();
    return new AuthenticatedTx(raw, this.keyring.rowMacKey());
  }

  /** MACs the rows of a vault written before row MACs (once; audited). */
  async #migrate(): Promise<void> {
    const done = await this.storage
      .transaction('write', async (raw) => {
        // The audit append below unlocks again and would learn the new (uncommitted) vault id.
        this.keyring.relock();
        if ((await this.keyring.unlock(raw)) === 'authenticated') return undefined;
        const m = await migrateToRowMacs(raw, this.keyring);
        await this.audit(raw, [
          {
            action: 'vault.migrate',
            path: null,
            env: null,
            version: null,
            outcome: 'ok',
            detail: `row MACs added: ${m.keks} keys, ${m.secrets} secrets, ${m.tokens} tokens`,
          },
        ]).catch((err: unknown) => {
          // A broken audit chain must not keep the rows unauthenticated, nor be healed: the
          // migration commits without its record (nothing was appended), and audited
          // operations stay refused until `coffer audit acknowledge`.
          if (!(err instanceof CofferError && err.code === 'AUDIT_CHAIN_BROKEN')) throw err;
        });
        return m;
      })
      .catch((err: unknown) => {
        // Rolled back: the vault is still as it was, whatever the keyring saw in the transaction.
        this.keyring.relock();
        throw err;
      });
    if (done !== undefined) this.keyring.adopt(done.vaultId);
  }

  /** Runs one audited operation in a write transaction. */
  async op<T>(
    action: string,
    target: Target,
    fn: (tx: StorageTx) => Promise<OpResult<T>>,
  ): Promise<T> {
    try {
      return await this.transaction('write', async (tx) => {
        const out = await fn(tx);
        await this.audit(tx, [
          ...(out.audit ?? []),
          {
            action,
            path: target.path ?? null,
            env: target.env ?? null,
            version: out.version ?? null,
            outcome: out.outcome ?? 'ok',
            detail: out.detail ?? null,
          },
        ]);
        return out.result;
      });
    } catch (err) {
      // A broken audit chain outranks the operation's own failure: it is what to fix first.
      throw (await this.auditFailure(action, target, err)) ?? err;
    }
  }

  auditFailure(action: string, target: Target, err: unknown): Promise<unknown> {
    return this.auditFailures([{ action, target, err }]);
  }

  /**
   * Audits failed operations in one transaction of their own. Never throws: returns the
   * AUDIT_CHAIN_BROKEN error when the chain refused the records, else undefined.
   */
  async auditFailures(failures: Failure[]): Promise<unknown> {
    const drafts: AuditDraft[] = [];
    for (const { action, target, err, actor } of failures) {
      const draft = failureDraft(action, target, err);
      if (draft !== undefined) drafts.push(actor === undefined ? draft : { ...draft, actor });
    }
    if (drafts.length === 0) return undefined;
    try {
      await this.storage.transaction('write', async (tx) => {
        // A refused master key cannot vouch for the head: its denial goes in unauthenticated.
        const keyed = await this.keyring.unlock(tx).then(
          () => true,
          (e: unknown) => {
            if (e instanceof CofferError && e.code === 'WRONG_KEY') return false;
            throw e;
          },
        );
        await this.audit(tx, drafts, keyed);
      });
    } catch (e) {
      // The operation has failed already; the caller sees its error, not this one.
      if (e instanceof CofferError && e.code === 'AUDIT_CHAIN_BROKEN') return e;
    }
    return undefined;
  }

  /** Runs a read-only operation (not audited: audit and key status reads). */
  read<T>(fn: (tx: AuthenticatedTx) => Promise<T>): Promise<T> {
    return this.transaction('read', fn);
  }

  /** Opens one stored version with its KEK (the caller wipes the plaintext). */
  async decrypt(tx: StorageTx, rec: VersionRecord): Promise<Buffer> {
    const kek = await this.keyring.kek(tx, rec.kekId);
    return openSecret(kek, rec.kekId, rec.wrappedDek, rec.ciphertext, {
      path: rec.path,
      env: rec.env,
      version: rec.version,
    });
  }
}
