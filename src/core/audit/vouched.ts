/**
 * The audit records coffer may act on: those the vault vouches for.
 *
 * Some commands do more than show the log: `rotate --sync` rewrites the .env files that
 * `file_write` records name, `sync --prune` deletes the target variables that `sync` records
 * name, and `incident`, `rotate` and `doctor` tell the operator what to update, who read a
 * secret, when the last backup was. Anyone who can write the database can edit a record in
 * place and keep its stored hash (SECURITY.md, "The audit trail"): appends check only the
 * tail against the authenticated head, so such an edit does not stop work. These readers
 * must therefore not take a record as it is stored.
 *
 * A record is vouched for when an unbroken run of hashes leads from it to the stored head,
 * and the head's MAC (head.ts, under the master key) is valid. So:
 *
 * - The whole chain is walked from record 1 (log.ts, walkChain) and the head is checked
 *   (head-state.ts, inspectHead). A break nobody acknowledged, or a head that does not
 *   check out, and nothing is vouched for: `verified` is false, and an action that needs the
 *   records refuses (refuseUnvouched, AUDIT_CHAIN_BROKEN, audited).
 * - An acknowledged break vouches for nothing before it: whoever made it could rewrite every
 *   record before it consistently (recomputing their hashes) and the chain would show one
 *   break only. Records up to the last break (a changed record, or one that does not follow
 *   the one before) are left out; so are those before the last acknowledgement that moved
 *   the head (a cut tail, a forged head: the operator vouched for the table as it was), and
 *   those before an `audit_upgrade` that authenticated a head that had no MAC (they were
 *   never authenticated when written). An acknowledgement of breaks inside the chain only,
 *   the head intact, leaves the records after those breaks vouched for.
 * - Records after the head (the denials of a wrong master key, written without the key) are
 *   never vouched for.
 *
 * Cost: the walk reads every record of the log once, in pages of 5,000, in one read
 * transaction, and hashes each: one SHA-256 over its fields serialised as JSON, about 4 us
 * per record on Node 20 (a second or two for a log of a few hundred thousand records), plus
 * a JSON parse of each acknowledgement; what `pick` keeps is held in memory, nothing else.
 * An action makes one walk (`rotate --sync` two: one before it rotates, one after), whatever
 * it picks: linear in the length of the log, never in the number of files or variables.
 */
import { CofferError } from '../errors.js';
import type { AuditRecord } from '../store/storage.js';
import type { Vault } from '../store/vault.js';
import { readAcknowledgement } from './acknowledge-record.js';
import { META_AUDIT_HEAD, parseHead } from './head.js';
import { ACKNOWLEDGE_ACTION, inspectHead, UPGRADE_ACTION, UPGRADE_BOUND } from './head-state.js';
import { walkChain } from './log.js';

/** What a walk needs of a vault: a read transaction with its keyring (the head's key). */
export type VouchSource = Pick<Vault, 'readTransaction'>;

/** What an action may rely on of the audit log. */
export interface AuditTrust {
  /** The chain verifies up to its authenticated head, every break in it acknowledged. */
  verified: boolean;
  /** Why it does not (the first problem found), when `verified` is false. */
  problem?: string | undefined;
  /** Which records were not used, one line for the output; undefined when none was left out. */
  notUsed?: string | undefined;
}

/** A walk's reader: sees each vouched-for candidate, and forgets what turned out not to be. */
export interface VouchVisitor {
  /** A record, in seq order, not known yet to be left out. */
  visit(r: AuditRecord): void;
  /** Everything visited so far is left out (a break, or a head vouched for afresh, follows it). */
  forget(): void;
}

/** What a walk found: whether the chain verifies, and from which record on it vouches. */
export interface VouchedWalk {
  verified: boolean;
  problem: string | undefined;
  /** Records before this seq are left out. */
  from: number;
  /** Why, when from > 1. */
  why: string | undefined;
}

/** An acknowledgement that moved the head (not only breaks inside the chain). */
function movedHead(r: AuditRecord): boolean {
  const a = readAcknowledgement(r);
  return !(
    a.headMac === 'valid' &&
    a.storedHead !== null &&
    a.tableEnd !== null &&
    a.storedHead.seq === a.tableEnd.seq &&
    a.storedHead.hash === a.tableEnd.hash
  );
}

/** An upgrade that authenticated a head without a MAC (not one that only bound it). */
function authenticatedLegacy(r: AuditRecord): boolean {
  return !(r.detail ?? '').startsWith(`${UPGRADE_BOUND} from `);
}

/**
 * Walks the log and hands `visitor` the records the vault vouches for (see above). When the
 * result is not `verified`, what the visitor saw must not be used (it was told to forget it).
 */
export async function walkVouchedAudit(
  source: VouchSource,
  visitor: VouchVisitor,
): Promise<VouchedWalk> {
  return source.readTransaction(async (tx, keyring) => {
    const key = keyring.auditHeadKey();
    const rawHead = await tx.getMeta(META_AUDIT_HEAD);
    // The records after the head are the unkeyed denials inspectHead allows there; a head
    // that does not parse fails inspectHead below.
    const headSeq = rawHead === undefined ? 0 : (parseHead(rawHead)?.seq ?? 0);
    let from = 1;
    let why: string | undefined;
    const leaveOut = (next: number, reason: string) => {
      from = next;
      why = reason;
      visitor.forget();
    };
    const { verifier, last } = await walkChain(tx, (r, intact) => {
      if (r.seq <= headSeq) visitor.visit(r);
      // A record that ends a vouched-for run is left out with everything before it.
      if (!intact) {
        leaveOut(r.seq + 1, `the audit chain breaks at record ${r.seq}`);
      } else if (r.action === ACKNOWLEDGE_ACTION && r.outcome === 'ok' && movedHead(r)) {
        leaveOut(r.seq + 1, `record ${r.seq} acknowledged a break of the audit log`);
      } else if (r.action === UPGRADE_ACTION && authenticatedLegacy(r)) {
        leaveOut(r.seq + 1, `the audit head was first authenticated at record ${r.seq}`);
      }
    });
    let problem = verifier.problem?.reason;
    if (problem === undefined) {
      const state = await inspectHead(tx, last, rawHead, key);
      if (!state.ok) problem = state.problem.reason;
      else if (state.upgrade === 'legacy') {
        // A head without a MAC: nothing is authenticated yet (the next append does it).
        leaveOut((last?.seq ?? 0) + 1, 'the audit head has no MAC yet');
      }
    }
    if (problem !== undefined) visitor.forget();
    return { verified: problem === undefined, problem, from, why };
  });
}

/** The line that says which records were not used, and why. */
function notUsedLine(walk: VouchedWalk, count: number, about: string): string {
  if (!walk.verified) {
    return `no audit record was used: the audit log does not verify (${walk.problem})`;
  }
  const n = count === 1 ? `1 audit record${about} was` : `${count} audit records${about} were`;
  return `${n} not used (among records 1 to ${walk.from - 1}): ${walk.why}, and whoever could write the database then could have rewritten any record before it`;
}

/**
 * The records the vault vouches for that `pick` maps to something, oldest first: at most the
 * newest `keep` of them (all by default). `notUsed` counts the picked records left out.
 */
export async function readVouchedAudit<T>(
  source: VouchSource,
  pick: (r: AuditRecord) => T | undefined,
  options: {
    keep?: number | undefined;
    /** What the records are, for `notUsed`: ` of project/app/key (prod)`. */
    about?: string | undefined;
  } = {},
): Promise<{ picked: T[]; trust: AuditTrust }> {
  const keep = options.keep ?? Number.POSITIVE_INFINITY;
  let picked: T[] = [];
  let dropped = 0;
  const walk = await walkVouchedAudit(source, {
    visit(r) {
      const v = pick(r);
      if (v === undefined) return;
      picked.push(v);
      // Trimmed in batches: linear, and at most twice `keep` held at once.
      if (picked.length >= 2 * keep) picked = picked.slice(picked.length - keep);
    },
    forget() {
      dropped += picked.length;
      picked = [];
    },
  });
  if (picked.length > keep) picked = picked.slice(picked.length - keep);
  const about = options.about ?? '';
  let trust: AuditTrust;
  if (!walk.verified) {
    trust = { verified: false, problem: walk.problem, notUsed: notUsedLine(walk, 0, about) };
  } else if (dropped > 0) trust = { verified: true, notUsed: notUsedLine(walk, dropped, about) };
  else trust = { verified: true };
  return { picked, trust };
}

/** Whether the audit log verifies, for an action to check before it starts. */
export async function auditTrust(source: VouchSource): Promise<AuditTrust> {
  return (await readVouchedAudit(source, () => undefined)).trust;
}

/** The refusal of an action its audit records would drive, when the log does not verify. */
export function unvouchedError(trust: AuditTrust): CofferError {
  return new CofferError(
    'AUDIT_CHAIN_BROKEN',
    `the audit log does not verify (${trust.problem ?? 'unknown problem'}): coffer acts on none of its records until it does`,
    {
      hint: 'See the breaks with `coffer audit verify` (compare with a backup or an off-machine checkpoint); once you know what happened, `coffer audit acknowledge --reason TEXT` records them. Records before an acknowledged break are never acted on.',
    },
  );
}

/**
 * Refuses `action` (AUDIT_CHAIN_BROKEN) unless `trust` is verified, and audits the refusal as
 * a denied `action` of `target` when the log still takes records (a broken head refuses them).
 */
export async function refuseUnvouched(
  vault: {
    recordDenied(
      action: string,
      target: { path?: string | null; env?: string | null },
      reason: string,
    ): Promise<void>;
  },
  action: string,
  target: { path?: string | null; env?: string | null },
  trust: AuditTrust,
): Promise<void> {
  if (trust.verified) return;
  try {
    await vault.recordDenied(action, target, `the audit log does not verify: ${trust.problem}`);
  } catch (err) {
    if (!(err instanceof CofferError && err.code === 'AUDIT_CHAIN_BROKEN')) throw err;
  }
  throw unvouchedError(trust);
}
