/**
 * Where the stored audit head stands against the audit table: the check every append makes
 * before it adds a record (append.ts), and that `coffer audit acknowledge` and
 * `coffer audit head` make too.
 *
 * The head is intact when its MAC is valid (head.ts) and the table ends at the record it
 * names, or continues from it only with records a process without the master key may
 * write: the denial of a wrong master key, which cannot update the head (it cannot make its
 * MAC). A cut tail, a rewritten last record, records added behind coffer's back, a head
 * changed without the master key: each is a problem, and appending stops until an operator
 * acknowledges it.
 *
 * A legacy head (no MAC, written before heads were authenticated) is accepted once, after
 * the whole chain verifies against it, unless the chain shows that this vault already had
 * an authenticated head (a record only an authenticating coffer writes): a head does not go
 * back to having no MAC. An unbound head (a MAC of this master key that does not name the
 * vault id, written before heads did, head.ts) is accepted the same way, unless the chain
 * shows the vault already had a bound head: another vault under the same master key
 * cannot lend this one its log and head. The check adds one metadata read per write transaction (the record
 * read, `lastAudit`, was there already) and, for a head this process did not write, one
 * HMAC: measured at about 8 us of CPU per `Vault.get` on SQLite (one more round trip on
 * PostgreSQL), shared by every read of a server's batch. The walks happen only when records
 * follow the head (wrong-key denials) or for a legacy head (once).
 */
import type { AuditRecord, StorageTx } from '../store/storage.js';
import { AuditChainVerifier, GENESIS_HASH, hashAuditRecord } from './chain.js';
import { type AuditHeadKey, headMacKind, parseHead, type StoredHead } from './head.js';

/** The detail suffix of the `init` record of a vault born with an authenticated head. */
export const INIT_AUTHENTICATED = 'audit head authenticated';
/** The detail suffix of the `init` record of a vault born with a head bound to its id. */
export const INIT_BOUND = 'audit head authenticated and bound to the vault';
/** The record written when a legacy or unbound head is authenticated and bound. */
export const UPGRADE_ACTION = 'audit_upgrade';
/** What an `audit_upgrade` record's detail starts with when it binds the head. */
export const UPGRADE_BOUND = 'audit head bound to the vault';
/** The record of an acknowledged break (acknowledge.ts). */
export const ACKNOWLEDGE_ACTION = 'audit_acknowledge';

const PAGE = 5000;

/**
 * The last head value each key made or checked, parsed. A head's MAC is a function of its
 * text, so the same text under the same key needs no second HMAC nor parse: the common
 * append, which reads back the head this process wrote, skips both (a few microseconds of a
 * hot read's write transaction). Head values are not secret.
 */
const knownHeads = new WeakMap<AuditHeadKey, { raw: string; head: StoredHead }>();

/** Records a head value just made (or checked, and bound) with `key`. */
export function noteHead(key: AuditHeadKey, raw: string, head: StoredHead): void {
  knownHeads.set(key, { raw, head });
}

export interface ChainPoint {
  seq: number;
  hash: string;
}

export interface HeadProblem {
  reason: string;
  /** The stored head as read; undefined when missing or unreadable. */
  stored: ChainPoint | undefined;
  /**
   * `invalid`: not made by this master key (or unreadable); `legacy`: it has none;
   * `unbound`: this master key's, but not bound to this vault (an older head, refused here).
   */
  mac: 'valid' | 'invalid' | 'legacy' | 'unbound' | 'missing';
  /** The table's newest record; undefined for an empty table. */
  tableEnd: ChainPoint | undefined;
}

/**
 * `upgrade`: the head is intact but from an older coffer, without a MAC (`legacy`) or with
 * one not bound to the vault (`unbound`); the next append authenticates and binds it.
 */
export type HeadState =
  | { ok: true; upgrade: 'legacy' | 'unbound' | undefined }
  | { ok: false; problem: HeadProblem };

/** A record a process without the master key writes: the denial of its wrong key. */
export function isUnkeyedDenial(r: { outcome: string; detail: string | null }): boolean {
  return r.outcome === 'denied' && r.detail === 'WRONG_KEY';
}

/** A record that only a coffer authenticating its head writes. */
export function marksAuthenticatedHead(r: AuditRecord): boolean {
  return (
    r.action === UPGRADE_ACTION ||
    (r.action === ACKNOWLEDGE_ACTION && r.outcome === 'ok') ||
    (r.action === 'init' &&
      r.detail !== null &&
      (r.detail.endsWith(INIT_AUTHENTICATED) || r.detail.endsWith(INIT_BOUND)))
  );
}

/** A record that only a coffer binding its head to the vault id writes. */
export function marksBoundHead(r: AuditRecord): boolean {
  return (
    (r.action === UPGRADE_ACTION && r.detail !== null && r.detail.startsWith(UPGRADE_BOUND)) ||
    (r.action === 'init' && r.detail !== null && r.detail.endsWith(INIT_BOUND))
  );
}

/** Calls `visit` on each record after `afterSeq`, in seq order, until it returns false. */
export async function walkAudit(
  tx: StorageTx,
  afterSeq: number,
  visit: (r: AuditRecord) => boolean,
): Promise<void> {
  let after = afterSeq;
  for (;;) {
    const page = await tx.listAudit({ afterSeq: after, limit: PAGE });
    for (const r of page) if (!visit(r)) return;
    if (page.length < PAGE) return;
    after = page[page.length - 1]!.seq;
  }
}

function missing(from: number, to: number): string {
  return from === to
    ? `record ${from} is missing (removed)`
    : `records ${from} to ${to} are missing (removed)`;
}

/** What is wrong between an authenticated head and the table, or undefined. */
async function tailProblem(
  tx: StorageTx,
  head: StoredHead,
  last: AuditRecord | undefined,
): Promise<string | undefined> {
  const endSeq = last?.seq ?? 0;
  if (endSeq === head.seq) {
    const endHash = last?.hash ?? GENESIS_HASH;
    return endHash === head.hash
      ? undefined
      : `record ${head.seq} does not match the stored audit head`;
  }
  if (endSeq < head.seq) return missing(endSeq + 1, head.seq);
  // Records follow the head: the record it names must be there, and each one after it must
  // chain on and be a wrong key's denial.
  if (head.seq > 0) {
    const at = (await tx.listAudit({ afterSeq: head.seq - 1, limit: 1 }))[0];
    if (at === undefined || at.seq !== head.seq || at.hash !== head.hash) {
      return `record ${head.seq} does not match the stored audit head`;
    }
  } else if (head.hash !== GENESIS_HASH) {
    return 'the stored audit head names no record';
  }
  let prevHash = head.hash;
  let expected = head.seq + 1;
  let problem: string | undefined;
  await walkAudit(tx, head.seq, (r) => {
    if (
      r.seq !== expected ||
      r.prevHash !== prevHash ||
      hashAuditRecord(r.seq, r, prevHash) !== r.hash
    ) {
      problem = `the records after record ${head.seq} do not follow the stored audit head`;
    } else if (!isUnkeyedDenial(r)) {
      problem = `record ${r.seq} was added after the stored audit head without the master key`;
    }
    prevHash = r.hash;
    expected++;
    return problem === undefined;
  });
  return problem;
}

/**
 * A head of an older coffer: intact when the whole chain verifies against it and the chain
 * holds no record of a newer head (a legacy head: none of an authenticated one; an unbound
 * head: none of a bound one).
 */
async function olderHeadProblem(
  tx: StorageTx,
  head: StoredHead,
  kind: 'legacy' | 'unbound',
): Promise<string | undefined> {
  const verifier = new AuditChainVerifier();
  const newer = kind === 'legacy' ? marksAuthenticatedHead : marksBoundHead;
  let marker: number | undefined;
  await walkAudit(tx, 0, (r) => {
    if (marker === undefined && newer(r)) marker = r.seq;
    return verifier.push(r);
  });
  const problem = verifier.finish(`${head.seq}:${head.hash}`);
  if (problem !== undefined) return problem.reason;
  if (marker === undefined) return undefined;
  return kind === 'legacy'
    ? `the stored audit head has no MAC, but record ${marker} shows it had one (a head is never downgraded)`
    : `the stored audit head is not bound to this vault, but record ${marker} shows it was (another vault's head, or one put back from an older copy)`;
}

/** Checks the stored head (`raw`, meta `audit_head`) against the table ending at `last`. */
export async function inspectHead(
  tx: StorageTx,
  last: AuditRecord | undefined,
  raw: string | undefined,
  key: AuditHeadKey,
): Promise<HeadState> {
  const tableEnd = last === undefined ? undefined : { seq: last.seq, hash: last.hash };
  const broken = (
    reason: string,
    stored: ChainPoint | undefined,
    mac: HeadProblem['mac'],
  ): HeadState => ({ ok: false, problem: { reason, stored, mac, tableEnd } });
  if (raw === undefined) return broken('the stored audit head is missing', undefined, 'missing');
  const known = knownHeads.get(key);
  let head: StoredHead | undefined;
  if (known !== undefined && known.raw === raw) {
    head = known.head;
  } else {
    head = parseHead(raw);
    if (head === undefined) {
      return broken('the stored audit head is unreadable', undefined, 'invalid');
    }
    const kind = head.mac === null ? 'legacy' : headMacKind(key, head);
    if (kind === 'legacy' || kind === 'unbound') {
      const problem = await olderHeadProblem(tx, head, kind);
      return problem === undefined
        ? { ok: true, upgrade: kind }
        : broken(problem, { seq: head.seq, hash: head.hash }, kind);
    }
    if (kind === 'invalid') {
      return broken(
        'the stored audit head is not authentic (it was written without the master key)',
        { seq: head.seq, hash: head.hash },
        'invalid',
      );
    }
    noteHead(key, raw, head);
  }
  const stored = { seq: head.seq, hash: head.hash };
  const problem = await tailProblem(tx, head, last);
  return problem === undefined
    ? { ok: true, upgrade: undefined }
    : broken(problem, stored, 'valid');
}
