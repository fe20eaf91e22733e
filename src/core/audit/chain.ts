/**
 * The audit log's hash chain.
 *
 * Each record's hash is SHA-256 over the previous record's hash and the record's own fields,
 * serialised as a JSON array in a fixed order:
 *
 *   hash_n = hex(SHA-256(JSON.stringify([seq, ts, actor, action, path, env, version,
 *                                        outcome, detail, prevHash])))
 *
 * with prevHash of the first record = 64 zeros, and seq numbers 1, 2, 3, ... without gaps.
 *
 * What it detects: a changed, removed, inserted or reordered record. On its own it does not
 * stop someone who can write the database from cutting records off the end or recomputing
 * every hash after a change: the stored head, authenticated with the master key (head.ts,
 * checked before every append by head-state.ts), and checkpoints kept off the machine do.
 * No record ever holds a secret value: entries carry paths, versions and outcomes only.
 */
import { sha256Hex } from '../crypto/sha256.js';
import type { AuditEntry, AuditRecord } from '../store/storage.js';

export const GENESIS_HASH: string = '0'.repeat(64);

export function hashAuditRecord(seq: number, entry: AuditEntry, prevHash: string): string {
  const fields = [
    seq,
    entry.ts,
    entry.actor,
    entry.action,
    entry.path,
    entry.env,
    entry.version,
    entry.outcome,
    entry.detail,
    prevHash,
  ];
  return sha256Hex(JSON.stringify(fields));
}

/** Builds the next chained record after `last` (undefined for an empty log). */
export function chainAuditRecord(last: AuditRecord | undefined, entry: AuditEntry): AuditRecord {
  const seq = last === undefined ? 1 : last.seq + 1;
  const prevHash = last === undefined ? GENESIS_HASH : last.hash;
  // Spelled out rather than spread: one object shape, and nothing but the record's fields.
  return {
    seq,
    ts: entry.ts,
    actor: entry.actor,
    action: entry.action,
    path: entry.path,
    env: entry.env,
    version: entry.version,
    outcome: entry.outcome,
    detail: entry.detail,
    prevHash,
    hash: hashAuditRecord(seq, entry, prevHash),
  };
}

export interface ChainProblem {
  /** The seq of the first record that does not fit the chain (or the expected seq). */
  seq: number;
  reason: string;
}

/** Incremental verifier: feed records in seq order, then call `finish` with the stored head. */
export class AuditChainVerifier {
  #expectedSeq = 1;
  #prevHash = GENESIS_HASH;
  #problem: ChainProblem | undefined;
  #count = 0;

  get count(): number {
    return this.#count;
  }

  get problem(): ChainProblem | undefined {
    return this.#problem;
  }

  /** Returns false once a problem is found (later records are not examined). */
  push(r: AuditRecord): boolean {
    if (this.#problem !== undefined) return false;
    this.#count++;
    if (r.seq !== this.#expectedSeq) {
      this.#problem =
        r.seq > this.#expectedSeq
          ? { seq: this.#expectedSeq, reason: `record ${this.#expectedSeq} is missing (removed)` }
          : { seq: r.seq, reason: `record ${r.seq} is out of order` };
      return false;
    }
    if (r.prevHash !== this.#prevHash) {
      this.#problem = {
        seq: r.seq,
        reason: `record ${r.seq} does not follow record ${r.seq - 1} (removed or reordered records)`,
      };
      return false;
    }
    if (hashAuditRecord(r.seq, r, r.prevHash) !== r.hash) {
      this.#problem = { seq: r.seq, reason: `record ${r.seq} was changed` };
      return false;
    }
    this.#prevHash = r.hash;
    this.#expectedSeq++;
    return true;
  }

  /** Compares the end of the chain with a legacy head ("seq:hash", no MAC; head-state.ts). */
  finish(storedHead: string | undefined): ChainProblem | undefined {
    if (this.#problem !== undefined) return this.#problem;
    const lastSeq = this.#expectedSeq - 1;
    const head = `${lastSeq}:${this.#prevHash}`;
    if (storedHead === undefined) {
      if (lastSeq > 0) this.#problem = { seq: lastSeq, reason: 'the audit head record is missing' };
    } else if (storedHead !== head) {
      const storedSeq = Number(storedHead.split(':')[0]);
      this.#problem =
        storedSeq > lastSeq
          ? {
              seq: lastSeq + 1,
              reason: `records ${lastSeq + 1} to ${storedSeq} are missing (removed)`,
            }
          : { seq: lastSeq, reason: `record ${lastSeq} does not match the stored audit head` };
    }
    return this.#problem;
  }
}
