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

/**
 * The reason given for a record whose fields no longer give its stored hash. It names what
 * the fields hash to now, so an acknowledgement of it (acknowledge.ts) covers that content
 * only: the record changed once more is a new break.
 */
export function changedReason(seq: number, fieldsHash: string): string {
  return `record ${seq} was changed (its fields hash to ${fieldsHash.slice(0, 16)})`;
}

/**
 * A stored hash as a break's reason names it: its first 16 hex digits, or for a column that
 * holds no hash (its text is anyone's) a digest of it. Never the separator below.
 */
function shownHash(h: string): string {
  return /^[0-9a-f]{64}$/.test(h) ? h.slice(0, 16) : `digest ${sha256Hex(h).slice(0, 16)}`;
}

/** Separates the reasons an acknowledgement lists (acknowledge.ts). */
export const REASON_SEPARATOR = '; ';

export interface VerifierOptions {
  /**
   * Walk on past a break: a record edited in place (its hash column kept), records missing
   * from the middle, a record that does not follow the one before. Each is kept as a
   * problem until `acknowledge` names it (an acknowledgement later in the chain); the walk
   * goes on from the record as stored. Without it, the first break ends the walk.
   */
  acknowledgeable?: boolean;
}

/** Incremental verifier: feed records in seq order, then call `finish` with the stored head. */
export class AuditChainVerifier {
  #expectedSeq = 1;
  #prevHash = GENESIS_HASH;
  #problem: ChainProblem | undefined;
  #count = 0;
  readonly #acknowledgeable: boolean;
  /** Breaks walked past and not acknowledged yet (acknowledgeable mode), in order. */
  #breaks: ChainProblem[] = [];
  #lastIntact = true;

  constructor(options: VerifierOptions = {}) {
    this.#acknowledgeable = options.acknowledgeable === true;
  }

  get count(): number {
    return this.#count;
  }

  /** The first problem: a break not acknowledged, else what ended the walk. */
  get problem(): ChainProblem | undefined {
    return this.#breaks[0] ?? this.#problem;
  }

  /** Breaks walked past and not acknowledged yet (acknowledgeable mode). */
  get breaks(): readonly ChainProblem[] {
    return this.#breaks;
  }

  /** Whether the walk went on to the end (breaks walked past aside). */
  get linked(): boolean {
    return this.#problem === undefined;
  }

  /** Whether the record pushed last was whole: it followed the one before and kept its hash. */
  get lastIntact(): boolean {
    return this.#lastIntact;
  }

  /** An acknowledgement (a record after them) names these breaks by their reasons. */
  acknowledge(reasons: readonly string[]): void {
    this.#breaks = this.#breaks.filter((b) => !reasons.includes(b.reason));
  }

  /** A break: kept and walked past (acknowledgeable mode), else the end of the walk. */
  #break(problem: ChainProblem): boolean {
    this.#lastIntact = false;
    if (!this.#acknowledgeable) {
      this.#problem = problem;
      return false;
    }
    this.#breaks.push(problem);
    return true;
  }

  /** Returns false once a problem ends the walk (later records are not examined). */
  push(r: AuditRecord): boolean {
    if (this.#problem !== undefined) return false;
    this.#count++;
    this.#lastIntact = true;
    // A seq no number holds (storage reads 2^62, 1.5 or text as NaN) orders nothing.
    if (!Number.isSafeInteger(r.seq)) {
      const after = this.#expectedSeq - 1;
      this.#problem = {
        seq: this.#expectedSeq,
        reason: `a record after ${after} has no valid seq`,
      };
      return false;
    }
    if (r.seq < this.#expectedSeq) {
      // Storage lists records by seq: this is not a log any more.
      this.#problem = { seq: r.seq, reason: `record ${r.seq} is out of order` };
      return false;
    }
    // A break names both sides of its seam (the stored hash before it and the prev_hash
    // after it), so that an acknowledgement covers that seam only: a record on either side
    // rewritten afterwards makes another text, a new break.
    // Only where there is a break: a walk of an intact chain builds no text per record.
    const seam = () => `${shownHash(this.#prevHash)} and ${shownHash(r.prevHash)}`;
    if (r.seq > this.#expectedSeq) {
      const from = this.#expectedSeq;
      const reason =
        r.seq === from + 1
          ? `record ${from} is missing (removed), between hashes ${seam()}`
          : `records ${from} to ${r.seq - 1} are missing (removed), between hashes ${seam()}`;
      if (!this.#break({ seq: from, reason })) return false;
    } else if (r.prevHash !== this.#prevHash) {
      const reason = `record ${r.seq} does not follow record ${r.seq - 1} (removed or reordered records), between hashes ${seam()}`;
      if (!this.#break({ seq: r.seq, reason })) return false;
    }
    const fields = hashAuditRecord(r.seq, r, r.prevHash);
    // A version no number holds hashes as null (JSON has no NaN): changed all the same.
    const validVersion = r.version === null || Number.isSafeInteger(r.version);
    if (fields !== r.hash || !validVersion) {
      if (!this.#break({ seq: r.seq, reason: changedReason(r.seq, fields) })) return false;
    }
    this.#prevHash = r.hash;
    this.#expectedSeq = r.seq + 1;
    return true;
  }

  /** Compares the end of the chain with a legacy head ("seq:hash", no MAC; head-state.ts). */
  finish(storedHead: string | undefined): ChainProblem | undefined {
    if (this.problem !== undefined) return this.problem;
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
    return this.problem;
  }
}
