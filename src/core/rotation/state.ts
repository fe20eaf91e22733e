/**
 * The rotation state of a vault: what `coffer rotate`, `rotate --finish` and `coffer incident`
 * remember between commands (grace windows, retired versions, secrets marked compromised,
 * incidents). It decides which old value is still injected, so it is authenticated like the
 * rows that decide which value is served: one document in the store's meta table, with an
 * HMAC under the master key's `rotation-state` subkey bound to the vault id. A document
 * changed without the master key is refused (INTEGRITY_FAILURE), never half-trusted.
 *
 *   meta["rotation_state"] = JSON {"v": 1, "mac": hex, "body": JSON text of RotationDoc}
 *   mac = HMAC-SHA256(subkey "rotation-state", "coffer/rotation-state/v1" 0x00 || vault id || body)
 *
 * It is read and written inside the transaction of the operation that changes it, so a
 * rotation's new version, its state and its audit record commit together or not at all.
 * Secrets that were never rotated by coffer have no entry: a vault of 10,000 secrets keeps
 * a small document.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { CofferError } from '../errors.js';
import type { Keyring } from '../keys/keyring.js';
import type { StorageTx } from '../store/storage.js';

export const META_ROTATION_STATE = 'rotation_state';
const LABEL = 'coffer/rotation-state/v1';

/** What coffer remembers about one secret (path + environment). */
export interface SecretRotation {
  /** The version before the last rotation, still injected under `previous:` until `graceUntil`. */
  previousVersion: number | null;
  /** When the grace window ends (ISO time); null: no grace window open. */
  graceUntil: string | null;
  /** The variable the previous version is injected under during the grace window. */
  previousName: string | null;
  rotatedAt: string | null;
  rotatedBy: string | null;
  /** Versions retired by `rotate --finish` (reading one warns). */
  retired: number[];
  /** Set by `coffer incident` (or report_leak) until the secret is rotated. */
  compromisedAt: string | null;
  /** A key list (Fernet keys or a coffer/envelope keyring) whose old keys await retirement. */
  keyring: 'fernet' | 'envelope' | null;
  /** How many old keys the key list keeps beside its new primary key. */
  oldKeys: number;
}

/** One step of an incident, with its time. */
export interface IncidentStep {
  step: string;
  at: string;
  detail: string;
}

export interface IncidentRecord {
  id: string;
  path: string;
  env: string;
  openedAt: string;
  openedBy: string;
  /** Where the leak was seen (free text from the reporter; no value). */
  where: string;
  closedAt: string | null;
  closedBy: string | null;
  steps: IncidentStep[];
}

export interface RotationDoc {
  secrets: Record<string, SecretRotation>;
  incidents: IncidentRecord[];
}

/** Whether `incident` has a step named `step` (the steps a resumed incident run skips). */
export function hasStep(incident: IncidentRecord, step: string): boolean {
  return incident.steps.some((s) => s.step === step);
}

/**
 * Records a rotation of `path` in `env` as the `rotated` step of each open incident on it
 * that has none: a rotation made by hand since the leak was reported. With `rotatedAt`, only
 * incidents opened by then count (a rotation finished now may have been made before).
 */
export function markIncidentsRotated(
  doc: RotationDoc,
  target: { path: string; env: string },
  step: IncidentStep,
  rotatedAt?: string,
): void {
  for (const incident of doc.incidents) {
    if (
      incident.path === target.path &&
      incident.env === target.env &&
      incident.closedAt === null &&
      (rotatedAt === undefined || Date.parse(rotatedAt) >= Date.parse(incident.openedAt)) &&
      !hasStep(incident, 'rotated')
    )
      incident.steps.push(step);
  }
}

/** The key of a secret in the document. */
export function slotKey(path: string, env: string): string {
  return `${path} ${env}`;
}

export function emptySecretRotation(): SecretRotation {
  return {
    previousVersion: null,
    graceUntil: null,
    previousName: null,
    rotatedAt: null,
    rotatedBy: null,
    retired: [],
    compromisedAt: null,
    keyring: null,
    oldKeys: 0,
  };
}

function mac(keyring: Keyring, body: string): Buffer {
  const { vaultId } = keyring.rowMacKey();
  return createHmac('sha256', keyring.subkey('rotation-state'))
    .update(`${LABEL}\u0000`)
    .update(vaultId)
    .update(body)
    .digest();
}

function tampered(): CofferError {
  return new CofferError(
    'INTEGRITY_FAILURE',
    'the rotation state of this vault fails its integrity check: it was changed outside coffer',
    { hint: 'Restore the vault from a backup; `coffer audit` shows the rotations that were made.' },
  );
}

/** Reads the document (an empty one when the vault has none). Throws INTEGRITY_FAILURE. */
export async function readRotationDoc(tx: StorageTx, keyring: Keyring): Promise<RotationDoc> {
  const stored = await tx.getMeta(META_ROTATION_STATE);
  if (stored === undefined) return { secrets: {}, incidents: [] };
  let outer: { v?: unknown; mac?: unknown; body?: unknown };
  try {
    outer = JSON.parse(stored) as typeof outer;
  } catch {
    throw tampered();
  }
  if (outer.v !== 1 || typeof outer.mac !== 'string' || typeof outer.body !== 'string') {
    throw tampered();
  }
  const want = mac(keyring, outer.body);
  const got = Buffer.from(outer.mac, 'hex');
  if (got.length !== want.length || !timingSafeEqual(got, want)) throw tampered();
  const doc = JSON.parse(outer.body) as Partial<RotationDoc>;
  return { secrets: doc.secrets ?? {}, incidents: doc.incidents ?? [] };
}

/** Writes the document (inside the caller's write transaction). */
export async function writeRotationDoc(
  tx: StorageTx,
  keyring: Keyring,
  doc: RotationDoc,
): Promise<void> {
  const body = JSON.stringify({ secrets: doc.secrets, incidents: doc.incidents });
  const value = JSON.stringify({ v: 1, mac: mac(keyring, body).toString('hex'), body });
  await tx.setMeta(META_ROTATION_STATE, value);
}
