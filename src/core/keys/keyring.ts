/**
 * The vault's keyring: key-encryption keys (KEKs), each sealed under the master key and
 * stored with an id (`k1`, `k2`, ...). Exactly one KEK is primary and wraps new data keys;
 * during a rotation older ones are `retiring` until no data key uses them, then `retired`,
 * at which point their sealed bytes are erased.
 *
 * Security preconditions:
 * - The master key is 32 bytes and is checked against the vault's verifier (constant time)
 *   before any KEK is opened, so a wrong key is reported as WRONG_KEY, never as garbage.
 * - Opened KEKs are cached in memory for the life of the Vault object and wiped by
 *   `close()`. JavaScript cannot guarantee that no copy remains in memory (SECURITY.md).
 * - `unlock` also learns whether the vault's rows carry MACs (a version-2 master-key check,
 *   store/master-check.ts) and the vault id they are bound to; `rowMacKey()` is available
 *   only then. A vault with a version-1 check is `legacy` until row-migration.ts runs.
 */
import { randomBytes } from 'node:crypto';
import type { AuditHeadKey } from '../audit/head.js';
import { KEY_BYTES } from '../crypto/aead.js';
import { openKek, sealKek } from '../crypto/envelope.js';
import { deriveSubkey, type SubkeyLabel } from '../crypto/subkeys.js';
import { CofferError } from '../errors.js';
import { assertReadableFormat, META_FORMAT } from '../store/formats.js';
import { masterCheckV2, readMasterCheck } from '../store/master-check.js';
import type { RowMacKey } from '../store/row-mac.js';
import type { KekRecord, StorageTx } from '../store/storage.js';

export const META_MASTER_CHECK = 'master_check';

export interface ActiveKek {
  id: string;
  key: Uint8Array;
}

export class Keyring {
  readonly #masterKey: Uint8Array;
  readonly #cache = new Map<string, Uint8Array>();
  readonly #subkeys = new Map<SubkeyLabel, Uint8Array>();
  /** The vault id once unlocked (a vault whose rows carry MACs). */
  #vaultId: Uint8Array | undefined;
  #rowMacKey: RowMacKey | undefined;
  #auditHeadKey: AuditHeadKey | undefined;

  constructor(masterKey: Uint8Array) {
    if (!(masterKey instanceof Uint8Array) || masterKey.length !== KEY_BYTES) {
      throw new RangeError(`master key must be ${KEY_BYTES} bytes`);
    }
    this.#masterKey = new Uint8Array(masterKey);
  }

  /**
   * Checks the master key against the vault's verifier (throws WRONG_KEY). Returns
   * `legacy` for a vault whose rows do not carry MACs yet (nothing is cached then: the
   * caller migrates it and calls `adopt`), else `authenticated` (cached for this keyring).
   */
  async unlock(tx: StorageTx): Promise<'authenticated' | 'legacy'> {
    if (this.#vaultId !== undefined) return 'authenticated';
    const check = await tx.getMeta(META_MASTER_CHECK);
    if (check === undefined) {
      // init writes the check with the format and the first KEK, in one transaction: a vault
      // holding either of those without a check was changed outside coffer.
      if ((await tx.getMeta(META_FORMAT)) !== undefined || (await tx.listKeks()).length > 0) {
        throw new CofferError(
          'INTEGRITY_FAILURE',
          "the vault's master-key check (meta master_check) is missing: the vault was changed outside coffer",
        );
      }
      throw new CofferError('VAULT_NOT_FOUND', 'the vault file exists but was never initialised');
    }
    // Checked on every path that opens the vault, whatever supplies the key: a vault a
    // newer coffer moved on is refused as such, not misread.
    const format = await tx.getMeta(META_FORMAT);
    if (format !== undefined) assertReadableFormat(format);
    const parsed = readMasterCheck(this.#masterKey, check);
    if (parsed.version === 1) return 'legacy';
    this.#vaultId = parsed.vaultId;
    return 'authenticated';
  }

  /** The version-2 master-key check of this key for the vault `vaultId` (master-check.ts). */
  masterCheck(vaultId: Uint8Array): string {
    return masterCheckV2(this.#masterKey, vaultId);
  }

  /** Records that the vault's rows now carry MACs bound to `vaultId` (row-migration.ts). */
  adopt(vaultId: Uint8Array): void {
    this.#vaultId = new Uint8Array(vaultId);
    this.#rowMacKey = undefined;
    this.#auditHeadKey = undefined;
  }

  /** Forgets what `unlock` learnt (a migration that rolled back); the next unlock re-reads. */
  relock(): void {
    this.#vaultId = undefined;
    this.#rowMacKey = undefined;
    this.#auditHeadKey = undefined;
  }

  /** The key and vault id of row MACs; throws unless `unlock` found (or `adopt` made) one. */
  rowMacKey(): RowMacKey {
    if (this.#vaultId === undefined) throw new Error('the keyring is not unlocked');
    this.#rowMacKey ??= { key: this.subkey('row-mac'), vaultId: this.#vaultId };
    return this.#rowMacKey;
  }

  /** The key of the audit head (audit/head.ts); throws unless unlocked, as `rowMacKey`. */
  auditHeadKey(): AuditHeadKey {
    if (this.#vaultId === undefined) throw new Error('the keyring is not unlocked');
    this.#auditHeadKey ??= { key: this.subkey('audit-head'), vaultId: this.#vaultId };
    return this.#auditHeadKey;
  }

  /** Opens the KEK with this id (cached). Throws KEY_NOT_FOUND for unknown or retired ids. */
  async kek(tx: StorageTx, id: string): Promise<Uint8Array> {
    const cached = this.#cache.get(id);
    if (cached !== undefined) return cached;
    const rec = await tx.getKek(id);
    return this.#open(id, rec);
  }

  #open(id: string, rec: KekRecord | undefined): Uint8Array {
    if (rec === undefined || rec.sealed === null) {
      throw new CofferError(
        'KEY_NOT_FOUND',
        `no key-encryption key with id ${id} in the keyring (was it retired?)`,
        {
          hint: 'The data was written under a key this vault no longer has; restore from a backup.',
        },
      );
    }
    let key: Uint8Array;
    try {
      key = openKek(this.#masterKey, id, rec.sealed);
    } catch (err) {
      throw new CofferError('INTEGRITY_FAILURE', `the sealed key-encryption key ${id} is damaged`, {
        cause: err,
      });
    }
    this.#cache.set(id, key);
    return key;
  }

  /** The primary KEK, read inside the caller's transaction so rotations elsewhere are seen. */
  async primary(tx: StorageTx): Promise<ActiveKek> {
    const keks = await tx.listKeks();
    const primary = keks.find((k) => k.status === 'primary');
    if (primary === undefined) {
      throw new CofferError('STORE_CORRUPT', 'the keyring has no primary key-encryption key');
    }
    const cached = this.#cache.get(primary.id);
    return { id: primary.id, key: cached ?? this.#open(primary.id, primary) };
  }

  /** Creates a new KEK with the next free id and stores it sealed, with the given status. */
  async create(tx: StorageTx, status: 'primary' | 'retiring', now: string): Promise<ActiveKek> {
    const keks = await tx.listKeks();
    const n = keks.reduce((max, k) => Math.max(max, Number(k.id.replace(/^k/, '')) || 0), 0) + 1;
    const id = `k${n}`;
    const key = new Uint8Array(randomBytes(KEY_BYTES));
    await tx.insertKek({
      id,
      sealed: sealKek(this.#masterKey, id, key),
      status,
      createdAt: now,
      retiredAt: null,
    });
    this.#cache.set(id, key);
    return { id, key };
  }

  /** Opens every KEK of `records` that still has sealed bytes; returns the ids that failed. */
  checkAll(records: readonly KekRecord[]): string[] {
    const failed: string[] = [];
    for (const rec of records) {
      if (rec.sealed === null) continue;
      try {
        this.#cache.delete(rec.id);
        this.#open(rec.id, rec);
      } catch {
        failed.push(rec.id);
      }
    }
    return failed;
  }

  /**
   * The master key's subkey for `label` (crypto/subkeys.ts), derived once and cached until
   * `close()`. Callers must not modify or keep the bytes beyond this keyring's life.
   */
  subkey(label: SubkeyLabel): Uint8Array {
    let key = this.#subkeys.get(label);
    if (key === undefined) {
      key = deriveSubkey(this.#masterKey, label);
      this.#subkeys.set(label, key);
    }
    return key;
  }

  /** Forgets a KEK (after it retired). */
  forget(id: string): void {
    this.#cache.get(id)?.fill(0);
    this.#cache.delete(id);
  }

  /** Wipes the master key and every cached KEK. */
  close(): void {
    for (const key of this.#cache.values()) key.fill(0);
    this.#cache.clear();
    for (const key of this.#subkeys.values()) key.fill(0);
    this.#subkeys.clear();
    this.#rowMacKey = undefined;
    this.#masterKey.fill(0);
  }
}
