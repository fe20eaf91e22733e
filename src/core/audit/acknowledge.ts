/**
 * `coffer audit acknowledge`: an operator's explicit, audited acceptance of a broken audit
 * chain, after which audited operations work again.
 *
 * While the stored head and the table disagree (head-state.ts), every audited operation
 * fails closed. Acknowledging, with the master key, re-points the head at the record the
 * table actually ends with and appends, in the same transaction, a record that chains onto
 * it and keeps what was found (acknowledge-record.ts): the head the vault had vouched for
 * and where the table ended. `coffer audit verify` then reports the chain intact and lists
 * each acknowledged break. With nothing to acknowledge it refuses
 * (AUDIT_NOTHING_TO_ACKNOWLEDGE, itself audited as a failed attempt).
 *
 * Only a local vault can acknowledge (the HTTP API has no route for it): it is a decision
 * for whoever holds the master key.
 */
import { CofferError } from '../errors.js';
import type { Vault } from '../store/vault.js';
import { acknowledgementDetail } from './acknowledge-record.js';
import { GENESIS_HASH, REASON_SEPARATOR } from './chain.js';
import { BOUND_HEAD_FORMAT, formatHead, META_AUDIT_HEAD, META_FORMAT } from './head.js';
import { ACKNOWLEDGE_ACTION, type HeadProblem, inspectHead } from './head-state.js';
import { walkChain } from './log.js';

export const MAX_REASON_LENGTH = 500;
// C0 and C1 controls, and line/paragraph separators: a reason is one line of plain text.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we exclude.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;

export interface AcknowledgeResult {
  /** The acknowledging record's seq. */
  seq: number;
  reason: string;
  problem: HeadProblem;
}

/** Checks the operator's reason: one line of text, 1 to 500 characters. */
export function parseAckReason(reason: string): string {
  const text = typeof reason === 'string' ? reason.trim() : '';
  if (text.length === 0) {
    throw new CofferError(
      'INVALID_ARGUMENT',
      'say why with --reason TEXT (what happened, who checked)',
    );
  }
  if (text.length > MAX_REASON_LENGTH || CONTROL.test(text)) {
    throw new CofferError(
      'INVALID_ARGUMENT',
      `the reason must be one line of at most ${MAX_REASON_LENGTH} characters`,
    );
  }
  return text;
}

export async function acknowledgeAuditBreak(
  vault: Vault,
  reason: string,
): Promise<AcknowledgeResult> {
  const text = parseAckReason(reason);
  return vault.auditedTransaction(ACKNOWLEDGE_ACTION, async (tx, keyring) => {
    const key = keyring.auditHeadKey();
    const last = await tx.lastAudit();
    const state = await inspectHead(tx, last, await tx.getMeta(META_AUDIT_HEAD), key);
    const end = last === undefined ? { seq: 0, hash: GENESIS_HASH } : last;
    // Breaks inside the chain (records edited in place with their hash column kept, or
    // removed from the middle), which `coffer audit verify` reports and appends do not
    // check, are acknowledged with the head's problem, in one record.
    const { verifier } = await walkChain(tx);
    const reasons = verifier.breaks.map((b) => b.reason);
    let problem: HeadProblem;
    if (state.ok) {
      if (reasons.length === 0) {
        throw new CofferError(
          'AUDIT_NOTHING_TO_ACKNOWLEDGE',
          'nothing to acknowledge: the audit chain is intact and the head matches its end',
        );
      }
      const point = { seq: end.seq, hash: end.hash };
      problem = {
        reason: reasons.join(REASON_SEPARATOR),
        stored: point,
        mac: 'valid',
        tableEnd: last === undefined ? undefined : point,
      };
    } else {
      const all = reasons.includes(state.problem.reason)
        ? reasons
        : [...reasons, state.problem.reason];
      problem = { ...state.problem, reason: all.join(REASON_SEPARATOR) };
      // The head now vouches for the table as it is; the audited operation's own record
      // (this acknowledgement) chains onto it and moves the head on.
      await tx.setMeta(META_AUDIT_HEAD, formatHead(key, end.seq, end.hash));
      await tx.setMeta(META_FORMAT, BOUND_HEAD_FORMAT);
    }
    return {
      result: { seq: end.seq + 1, reason: text, problem },
      detail: acknowledgementDetail(text, problem),
    };
  });
}
