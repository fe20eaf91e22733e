/**
 * Reading and verifying the audit log through an unlocked vault.
 *
 * `verifyAudit` walks the whole chain (chain.ts), checks the stored head against it
 * (head-state.ts: its MAC, and that the table ends where it says), lists the breaks an
 * operator acknowledged (acknowledge.ts), and, given a checkpoint kept off the machine
 * (head.ts), checks that it was made with this vault's master key and that the chain still
 * holds its record with its hash.
 */
import { CofferError } from '../errors.js';
import type { AuditRecord, StorageTx } from '../store/storage.js';
import type { Vault } from '../store/vault.js';
import { type AcknowledgedBreak, readAcknowledgement } from './acknowledge-record.js';
import { AuditChainVerifier, type ChainProblem, REASON_SEPARATOR } from './chain.js';
import { type AuditCheckpoint, checkpointMacValid, META_AUDIT_HEAD } from './head.js';
import { ACKNOWLEDGE_ACTION, type HeadProblem, inspectHead, walkAudit } from './head-state.js';

export interface AuditReadOptions {
  limit?: number;
  path?: string;
}

/** The newest `limit` records (default 100), oldest first. */
export async function readAudit(
  vault: Vault,
  options: AuditReadOptions = {},
): Promise<AuditRecord[]> {
  const limit = options.limit ?? 100;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new CofferError('INVALID_ARGUMENT', 'the limit must be a whole number >= 1');
  }
  const rows = await vault.readTransaction((tx) =>
    tx.listAudit({ limit, descending: true, ...(options.path ? { path: options.path } : {}) }),
  );
  return rows.reverse();
}

export interface CheckpointCheck {
  seq: number;
  hash: string;
  time: string;
  ok: boolean;
  /** Why it failed, when `ok` is false. */
  reason?: string;
}

export interface AuditVerifyResult {
  ok: boolean;
  records: number;
  problem: ChainProblem | undefined;
  /**
   * The stored head: `authenticated` (its MAC is valid and it names the chain's end),
   * `legacy` (written before heads had a MAC; the next audited command adds one), `broken`.
   * Absent from a server that does not report it.
   */
  head?: 'authenticated' | 'legacy' | 'broken';
  /** Breaks an operator acknowledged (`coffer audit acknowledge`), oldest first. */
  acknowledged: AcknowledgedBreak[];
  /** The result for `checkpoint`, when one was given. */
  checkpoint?: CheckpointCheck;
}

/** The record number a head problem is reported at. */
function problemAt(p: HeadProblem): ChainProblem {
  const end = p.tableEnd?.seq ?? 0;
  const seq = p.stored === undefined ? end : p.stored.seq > end ? end + 1 : p.stored.seq;
  return { seq, reason: p.reason };
}

function checkCheckpoint(
  cp: AuditCheckpoint,
  key: Uint8Array,
  hashAt: string | undefined,
): CheckpointCheck {
  const base = { seq: cp.seq, hash: cp.hash, time: cp.time };
  if (!checkpointMacValid(key, cp)) {
    return {
      ...base,
      ok: false,
      reason:
        "the checkpoint's MAC does not match: it was not made with this vault's master key, or it was edited",
    };
  }
  if (hashAt === undefined) {
    return {
      ...base,
      ok: false,
      reason: `record ${cp.seq} of the checkpoint is not in the chain: the log was cut below the checkpoint`,
    };
  }
  if (hashAt !== cp.hash) {
    return {
      ...base,
      ok: false,
      reason: `record ${cp.seq} differs from the checkpoint: the chain was rewritten, or cut and grown again`,
    };
  }
  return { ...base, ok: true };
}

/** What a walk of the whole chain found (walkChain). */
export interface ChainWalk {
  verifier: AuditChainVerifier;
  acknowledged: AcknowledgedBreak[];
  /** The last record the walk reached intact in its links. */
  last: AuditRecord | undefined;
}

/**
 * Walks the whole chain: each break (a record edited in place, records missing from the
 * middle, a record that does not follow) is a problem until a later, intact
 * acknowledgement names it (acknowledge.ts). `visit` sees each record walked, and whether it
 * was whole (it followed the one before and kept its hash).
 */
export async function walkChain(
  tx: StorageTx,
  visit?: (r: AuditRecord, intact: boolean) => void,
): Promise<ChainWalk> {
  const verifier = new AuditChainVerifier({ acknowledgeable: true });
  const acknowledged: AcknowledgedBreak[] = [];
  let last: AuditRecord | undefined;
  await walkAudit(tx, 0, (r) => {
    if (!verifier.push(r)) return false;
    last = r;
    if (r.action === ACKNOWLEDGE_ACTION && r.outcome === 'ok') {
      const ack = readAcknowledgement(r);
      acknowledged.push(ack);
      // An acknowledgement edited in place acknowledges nothing.
      if (verifier.lastIntact) verifier.acknowledge(ack.problem.split(REASON_SEPARATOR));
    }
    visit?.(r, verifier.lastIntact);
    return true;
  });
  return { verifier, acknowledged, last };
}

/** Walks the whole chain in one read transaction; reports the first problem found. */
export async function verifyAudit(
  vault: Vault,
  options: { checkpoint?: AuditCheckpoint | undefined } = {},
): Promise<AuditVerifyResult> {
  const cp = options.checkpoint;
  return vault.readTransaction(async (tx, keyring) => {
    const key = keyring.auditHeadKey();
    // The chain's hash at the checkpoint's record (seq 0: the empty chain before record 1).
    let hashAtCheckpoint = cp?.seq === 0 ? '0'.repeat(64) : undefined;
    const { verifier, acknowledged, last } = await walkChain(tx, (r) => {
      if (cp !== undefined && r.seq === cp.seq) hashAtCheckpoint = r.hash;
    });
    let problem = verifier.problem;
    let head: AuditVerifyResult['head'] = 'broken';
    if (verifier.linked) {
      // The head is checked whenever the links held, so that a record edited in place does
      // not hide a cut tail.
      const state = await inspectHead(tx, last, await tx.getMeta(META_AUDIT_HEAD), key);
      if (state.ok) head = state.upgrade === undefined ? 'authenticated' : 'legacy';
      else problem ??= problemAt(state.problem);
    }
    const checkpoint =
      cp === undefined ? undefined : checkCheckpoint(cp, key.key, hashAtCheckpoint);
    if (problem === undefined && checkpoint !== undefined && !checkpoint.ok) {
      problem = { seq: cp!.seq, reason: checkpoint.reason! };
    }
    return {
      ok: problem === undefined,
      records: verifier.count,
      problem,
      head,
      acknowledged,
      ...(checkpoint !== undefined ? { checkpoint } : {}),
    };
  });
}
