/**
 * Appending to the audit log: the one place records are chained, written and the stored
 * head moved, inside the caller's write transaction (the vault's audited operations).
 *
 * With the master key's `audit-head` subkey, the stored head is checked first
 * (head-state.ts): on any problem the append fails with AUDIT_CHAIN_BROKEN and the caller's
 * transaction rolls back, so a cut or rewritten tail is never covered over by new records
 * (fail closed until `coffer audit acknowledge`). Then the records are chained onto the
 * table's last one and the head is stored with its MAC.
 *
 * Without the key (a process whose master key was refused) only that refusal may be
 * recorded: it is chained onto the table and the head stays where it is, since no MAC can
 * be made for it. It therefore heals nothing: the next append with the key checks it.
 */
import { CofferError } from '../errors.js';
import type { AuditEntry, AuditRecord, StorageTx } from '../store/storage.js';
import { chainAuditRecord } from './chain.js';
import {
  type AuditHeadKey,
  BOUND_HEAD_FORMAT,
  formatHead,
  META_AUDIT_HEAD,
  META_FORMAT,
} from './head.js';
import {
  type HeadProblem,
  inspectHead,
  isUnkeyedDenial,
  noteHead,
  UPGRADE_ACTION,
  UPGRADE_BOUND,
} from './head-state.js';

function appendRecords(tx: StorageTx, records: readonly AuditRecord[]): Promise<void> {
  return records.length === 1 ? tx.appendAudit(records[0]!) : tx.appendAuditBatch(records);
}

/** The error of an append refused because the chain is broken. */
export function chainBrokenError(problem: HeadProblem): CofferError {
  return new CofferError(
    'AUDIT_CHAIN_BROKEN',
    `the audit log was changed outside coffer: ${problem.reason}; nothing was done`,
  );
}

/**
 * Chains `entries` onto the log and moves the head. `key` is the head key (the `audit-head`
 * subkey and the vault id) of a master key the vault has verified; undefined only for the
 * denial of a wrong master key.
 * Throws AUDIT_CHAIN_BROKEN (chain broken) or AUDIT_WRITE_FAILED (anything else).
 */
export async function appendAudit(
  tx: StorageTx,
  entries: readonly AuditEntry[],
  key: AuditHeadKey | undefined,
): Promise<void> {
  if (entries.length === 0) return;
  try {
    // With the key, the head is checked against the last record: both in one read where
    // the storage can (auditTail), else two.
    const tail =
      key === undefined
        ? { last: await tx.lastAudit(), head: undefined }
        : ((await tx.auditTail?.(META_AUDIT_HEAD)) ?? {
            last: await tx.lastAudit(),
            head: await tx.getMeta(META_AUDIT_HEAD),
          });
    let last = tail.last;
    let toWrite = entries;
    let upgraded = false;
    if (key !== undefined) {
      const state = await inspectHead(tx, last, tail.head, key);
      if (!state.ok) throw chainBrokenError(state.problem);
      if (state.upgrade !== undefined) {
        upgraded = true;
        // The chain verified against a head of an older coffer (without a MAC, or with one
        // that does not name the vault): authenticate and bind it, once, on record.
        const first = entries[0]!;
        const from = `from record ${(last?.seq ?? 0) + 1} on`;
        toWrite = [
          {
            ts: first.ts,
            actor: first.actor,
            action: UPGRADE_ACTION,
            path: null,
            env: null,
            version: null,
            outcome: 'ok',
            detail:
              state.upgrade === 'legacy'
                ? `${UPGRADE_BOUND}, and authenticated, ${from}`
                : `${UPGRADE_BOUND} ${from}`,
          },
          ...entries,
        ];
      }
    } else if (!entries.every(isUnkeyedDenial)) {
      throw new Error('only the denial of a wrong master key is recorded without the key');
    }
    const records: AuditRecord[] = [];
    for (const entry of toWrite) {
      last = chainAuditRecord(last, entry);
      records.push(last);
    }
    if (key !== undefined && last !== undefined) {
      const head = formatHead(key, last.seq, last.hash);
      // The records and the head in one round trip where the storage can, else two.
      // The first bound head of an older vault: the format says so (see BOUND_HEAD_FORMAT).
      if (upgraded) await tx.setMeta(META_FORMAT, BOUND_HEAD_FORMAT);
      if (tx.appendAuditWithHead !== undefined) {
        await tx.appendAuditWithHead(records, META_AUDIT_HEAD, head);
      } else {
        await appendRecords(tx, records);
        await tx.setMeta(META_AUDIT_HEAD, head);
      }
      // Only known once the transaction commits; a rollback leaves a value that is still
      // authentic (its MAC is right), so remembering it early is safe.
      noteHead(key, head, { seq: last.seq, hash: last.hash, mac: head.slice(-64) });
    } else {
      await appendRecords(tx, records);
    }
  } catch (err) {
    if (err instanceof CofferError && err.code === 'AUDIT_CHAIN_BROKEN') throw err;
    throw new CofferError('AUDIT_WRITE_FAILED', 'the audit record could not be written', {
      cause: err,
    });
  }
}
