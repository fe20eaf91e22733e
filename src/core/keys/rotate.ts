/**
 * Key-encryption-key rotation and status.
 *
 * `rotateKeys` runs in three kinds of transaction, each atomic and audited:
 *   1. start: create a new KEK as primary and mark the old primary `retiring`;
 *   2. batches: re-wrap up to `batchSize` data keys from retiring KEKs to the primary;
 *   3. finish: mark retiring KEKs that wrap nothing `retired` and erase their sealed bytes.
 * The vault stays usable between batches (new writes already use the new primary). A run
 * killed at any point leaves a consistent vault; running it again skips step 1 while a key
 * is still retiring, and finishes the job. Sealed values are never re-encrypted.
 */
import { rewrapDataKey } from '../crypto/envelope.js';
import type { KekStatus } from '../store/storage.js';
import type { Vault } from '../store/vault.js';

export interface KeyStatusItem {
  id: string;
  status: KekStatus;
  createdAt: string;
  retiredAt: string | null;
  wrappedKeys: number;
}

export interface KeyStatus {
  primary: string | undefined;
  rotationInProgress: boolean;
  keys: KeyStatusItem[];
}

export async function keyStatus(vault: Vault): Promise<KeyStatus> {
  return vault.readTransaction(async (tx) => {
    const counts = await tx.countWrappedKeys();
    const keks = await tx.listKeks();
    return {
      primary: keks.find((k) => k.status === 'primary')?.id,
      rotationInProgress: keks.some((k) => k.status === 'retiring'),
      keys: keks.map((k) => ({
        id: k.id,
        status: k.status,
        createdAt: k.createdAt,
        retiredAt: k.retiredAt,
        wrappedKeys: counts.get(k.id) ?? 0,
      })),
    };
  });
}

export interface RotateProgress {
  done: number;
  total: number;
}

export interface RotateOptions {
  batchSize?: number;
  /**
   * Pause between batches, in ms (default 5), so that other writers (other processes on
   * the same SQLite file) get the lock between batches and the vault stays usable.
   */
  pauseMs?: number;
  onProgress?: (p: RotateProgress) => void;
}

export interface RotateResult {
  newKey: string;
  resumed: boolean;
  rewrapped: number;
  retired: string[];
}

export async function rotateKeys(vault: Vault, options: RotateOptions = {}): Promise<RotateResult> {
  const batchSize = options.batchSize ?? 2000;
  const pauseMs = options.pauseMs ?? 5;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1)
    throw new RangeError('batchSize must be >= 1');

  const start = await vault.auditedTransaction('key.rotate', async (tx, keyring) => {
    const keks = await tx.listKeks();
    const retiring = keks.filter((k) => k.status === 'retiring').map((k) => k.id);
    const counts = await tx.countWrappedKeys();
    if (retiring.length > 0) {
      const primary = await keyring.primary(tx);
      const total = retiring.reduce((n, id) => n + (counts.get(id) ?? 0), 0);
      return {
        result: { primary: primary.id, retiring, total, resumed: true },
        detail: `resumed: ${primary.id} primary, ${total} data keys left on ${retiring.join(',')}`,
      };
    }
    const old = keks.filter((k) => k.status === 'primary').map((k) => k.id);
    for (const id of old) await tx.updateKek(id, { status: 'retiring' });
    const created = await keyring.create(tx, 'primary', new Date().toISOString());
    const total = old.reduce((n, id) => n + (counts.get(id) ?? 0), 0);
    return {
      result: { primary: created.id, retiring: old, total, resumed: false },
      detail: `new primary ${created.id}; retiring ${old.join(',')}; ${total} data keys to re-wrap`,
    };
  });

  let done = 0;
  options.onProgress?.({ done, total: start.total });
  for (;;) {
    const n = await vault.auditedTransaction('key.rewrap', async (tx, keyring) => {
      const primary = await keyring.primary(tx);
      const rows = await tx.listWrappedKeys(start.retiring, batchSize);
      for (const row of rows) {
        const from = { id: row.kekId, kek: await keyring.kek(tx, row.kekId) };
        const slot = { path: row.path, env: row.env, version: row.version };
        const wrapped = rewrapDataKey(
          from,
          { id: primary.id, kek: primary.key },
          row.wrappedDek,
          slot,
        );
        await tx.updateWrappedKey(row.rowId, primary.id, wrapped);
      }
      return {
        result: rows.length,
        detail: `${rows.length} data keys re-wrapped to ${primary.id}`,
      };
    });
    if (n === 0) break;
    done += n;
    options.onProgress?.({ done, total: Math.max(start.total, done) });
    if (n < batchSize) break;
    if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
  }

  const retired = await vault.auditedTransaction('key.retire', async (tx, keyring) => {
    const counts = await tx.countWrappedKeys();
    const out: string[] = [];
    for (const k of await tx.listKeks()) {
      if (k.status === 'retiring' && (counts.get(k.id) ?? 0) === 0) {
        await tx.updateKek(k.id, {
          status: 'retired',
          sealed: null,
          retiredAt: new Date().toISOString(),
        });
        keyring.forget(k.id);
        out.push(k.id);
      }
    }
    return { result: out, detail: out.length ? `retired ${out.join(',')}` : 'nothing to retire' };
  });

  return { newKey: start.primary, resumed: start.resumed, rewrapped: done, retired };
}
