/**
 * `coffer audit head`: a checkpoint of the audit chain (head.ts) for the user to keep off
 * the machine. Whoever can edit the database can edit the stored head with it, given the
 * master key, or roll both back to an older state they saw; a checkpoint stored elsewhere
 * catches that, since `coffer audit verify --checkpoint FILE` checks the chain still holds
 * its record with its hash.
 *
 * A checkpoint is made only of a chain whose head checks out (AUDIT_CHAIN_BROKEN otherwise):
 * vouching for a broken chain would hide the break. Taking one is a read: not audited.
 */
import type { Vault } from '../store/vault.js';
import { chainBrokenError } from './append.js';
import { GENESIS_HASH } from './chain.js';
import { type AuditCheckpoint, META_AUDIT_HEAD, makeCheckpoint } from './head.js';
import { inspectHead } from './head-state.js';

export async function auditCheckpoint(
  vault: Vault,
  now: Date = new Date(),
): Promise<AuditCheckpoint> {
  return vault.readTransaction(async (tx, keyring) => {
    const key = keyring.auditHeadKey();
    const last = await tx.lastAudit();
    const state = await inspectHead(tx, last, await tx.getMeta(META_AUDIT_HEAD), key);
    if (!state.ok) throw chainBrokenError(state.problem);
    const end = last ?? { seq: 0, hash: GENESIS_HASH };
    return makeCheckpoint(key.key, end.seq, end.hash, now.toISOString());
  });
}
