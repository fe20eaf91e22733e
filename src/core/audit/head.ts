/**
 * The audit chain's stored head and its checkpoints, authenticated under the master key.
 *
 * The records themselves are a plain hash chain (chain.ts): anyone who can write the
 * database can recompute it. What ties the chain to the master key is its head, the seq and
 * hash of the newest record the vault vouches for, kept in the vault's metadata
 * (`audit_head`) with a MAC:
 *
 *   audit_head = SEQ ":" HASH ":" MAC
 *   MAC        = hex(HMAC-SHA256(K, "coffer-audit-head/v2\n" || hex(VAULT ID) || "\n" || SEQ
 *                                   || "\n" || HASH))
 *
 * The vault id (16 random bytes drawn at init, store/master-check.ts) binds the head to its
 * vault: two vaults under one master key (a key file used twice) cannot lend each other
 * their logs with their heads. Heads written before that carry the version-1 MAC, of
 * "coffer-audit-head/v1\n" || SEQ || "\n" || HASH; such a head is an `unbound` one, which
 * head-state.ts accepts once, as it does a legacy head, and the next append rebinds.
 *
 * A checkpoint is the same pair with the time it was taken, printed by `coffer audit head`
 * for the user to keep off the machine, and checked by `coffer audit verify --checkpoint`:
 *
 *   MAC        = hex(HMAC-SHA256(K, "coffer-audit-checkpoint/v1\n" || SEQ || "\n" || HASH
 *                                   || "\n" || TIME))
 *
 * K is the master key's subkey `audit-head` (crypto/subkeys.ts); SEQ is decimal without
 * leading zeros (0 with the all-zero hash for an empty log), HASH 64 lowercase hex digits,
 * TIME an ISO 8601 UTC timestamp. The two labels keep a head's MAC from passing as a
 * checkpoint's and back. docs/format.md has the layout and a vector.
 *
 * Vaults written before heads were authenticated hold `SEQ:HASH` (a legacy head); the next
 * audited operation authenticates it once the whole chain verifies (append.ts).
 *
 * Security preconditions: K is 32 bytes; MACs are compared in constant time. Nothing here
 * reads or writes storage.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { CofferError } from '../errors.js';

export const META_AUDIT_HEAD = 'audit_head';
/**
 * The vault format (meta `format`) from which heads are bound to the vault id: set with the
 * first bound head, so that an older coffer refuses the vault as a newer format at start
 * instead of taking a head it cannot check for tampering.
 */
export { BOUND_HEAD_FORMAT, META_FORMAT } from '../store/formats.js';
export const CHECKPOINT_FORMAT = 'coffer-audit-checkpoint/v1';

const HEAD_LABEL_V1 = 'coffer-audit-head/v1\n';
const HEAD_LABEL = 'coffer-audit-head/v2\n';
const CHECKPOINT_LABEL = `${CHECKPOINT_FORMAT}\n`;
const HASH = /^[0-9a-f]{64}$/;
const SEQ = /^(0|[1-9][0-9]{0,15})$/;
const MAC = /^[0-9a-f]{64}$/;
// ISO 8601 in UTC as Date#toISOString writes it.
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

/** The key of a vault's audit head: the master key's `audit-head` subkey and the vault id. */
export interface AuditHeadKey {
  key: Uint8Array;
  vaultId: Uint8Array;
}

/** The stored head as read: `mac` is null for a legacy head. */
export interface StoredHead {
  seq: number;
  hash: string;
  mac: string | null;
}

/** An audit checkpoint (what `coffer audit head --json` prints). */
export interface AuditCheckpoint {
  format: typeof CHECKPOINT_FORMAT;
  seq: number;
  hash: string;
  time: string;
  mac: string;
}

function hmacHex(key: Uint8Array, text: string): string {
  if (!(key instanceof Uint8Array) || key.length !== 32) {
    throw new RangeError('the audit-head key must be 32 bytes');
  }
  return createHmac('sha256', key).update(text, 'utf8').digest('hex');
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === 32 && y.length === 32 && timingSafeEqual(x, y);
}

function headMac(k: AuditHeadKey, seq: number, hash: string): string {
  const id = Buffer.from(k.vaultId.buffer, k.vaultId.byteOffset, k.vaultId.byteLength);
  return hmacHex(k.key, `${HEAD_LABEL}${id.toString('hex')}\n${seq}\n${hash}`);
}

/** The head value to store for the record `seq` with `hash`. */
export function formatHead(k: AuditHeadKey, seq: number, hash: string): string {
  return `${seq}:${hash}:${headMac(k, seq, hash)}`;
}

/** A head in the version-1 form, not bound to a vault (vectors and tests of the upgrade). */
export function formatUnboundHead(key: Uint8Array, seq: number, hash: string): string {
  return `${seq}:${hash}:${hmacHex(key, `${HEAD_LABEL_V1}${seq}\n${hash}`)}`;
}

/** Parses a stored head; undefined when it has neither form. */
export function parseHead(raw: string): StoredHead | undefined {
  const parts = raw.split(':');
  if (parts.length !== 2 && parts.length !== 3) return undefined;
  const [seq, hash, mac] = parts as [string, string, string | undefined];
  if (!SEQ.test(seq) || !HASH.test(hash) || (mac !== undefined && !MAC.test(mac))) {
    return undefined;
  }
  return { seq: Number(seq), hash, mac: mac ?? null };
}

/**
 * Which MAC a head carries: `bound` (this vault's, version 2), `unbound` (version 1: this
 * master key's, written before heads named their vault), or `invalid` (neither, or a
 * legacy head without one).
 */
export function headMacKind(k: AuditHeadKey, head: StoredHead): 'bound' | 'unbound' | 'invalid' {
  if (head.mac === null) return 'invalid';
  if (sameHex(head.mac, headMac(k, head.seq, head.hash))) return 'bound';
  const v1 = hmacHex(k.key, `${HEAD_LABEL_V1}${head.seq}\n${head.hash}`);
  return sameHex(head.mac, v1) ? 'unbound' : 'invalid';
}

function checkpointMac(key: Uint8Array, seq: number, hash: string, time: string): string {
  return hmacHex(key, `${CHECKPOINT_LABEL}${seq}\n${hash}\n${time}`);
}

export function makeCheckpoint(
  key: Uint8Array,
  seq: number,
  hash: string,
  time: string,
): AuditCheckpoint {
  return { format: CHECKPOINT_FORMAT, seq, hash, time, mac: checkpointMac(key, seq, hash, time) };
}

export function checkpointMacValid(key: Uint8Array, cp: AuditCheckpoint): boolean {
  return sameHex(cp.mac, checkpointMac(key, cp.seq, cp.hash, cp.time));
}

/** The one-line text form: `coffer-audit-checkpoint/v1 SEQ HASH TIME MAC`. */
export function formatCheckpointLine(cp: AuditCheckpoint): string {
  return `${cp.format} ${cp.seq} ${cp.hash} ${cp.time} ${cp.mac}`;
}

function invalid(why: string): CofferError {
  return new CofferError('INVALID_ARGUMENT', `not an audit checkpoint: ${why}`, {
    hint: 'Use the output of `coffer audit head` (text or --json) as it was printed.',
  });
}

/** Parses a checkpoint in either form (the JSON object or the text line); checks no MAC. */
export function parseCheckpoint(text: string): AuditCheckpoint {
  const trimmed = text.trim();
  let fields: Record<string, unknown>;
  if (trimmed.startsWith('{')) {
    try {
      fields = JSON.parse(trimmed) as Record<string, unknown>;
    } catch {
      throw invalid('the JSON does not parse');
    }
    if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) {
      throw invalid('expected a JSON object');
    }
  } else {
    const words = trimmed.split(/\s+/);
    if (words.length !== 5) throw invalid('expected five words on one line');
    const [format, seq, hash, time, mac] = words as [string, string, string, string, string];
    fields = { format, seq: SEQ.test(seq) ? Number(seq) : seq, hash, time, mac };
  }
  const { format, seq, hash, time, mac } = fields;
  if (format !== CHECKPOINT_FORMAT) throw invalid(`the format is not ${CHECKPOINT_FORMAT}`);
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
    throw invalid('seq is not a record number');
  }
  if (typeof hash !== 'string' || !HASH.test(hash)) throw invalid('hash is not 64 hex digits');
  if (typeof time !== 'string' || !TIME.test(time)) throw invalid('time is not an ISO 8601 time');
  if (typeof mac !== 'string' || !MAC.test(mac)) throw invalid('mac is not 64 hex digits');
  return { format: CHECKPOINT_FORMAT, seq, hash, time, mac };
}
