/**
 * The record of an acknowledged break of the audit chain (action `audit_acknowledge`).
 *
 * Its detail is a JSON object, written in this key order:
 *
 *   {"reason": TEXT, "problem": TEXT, "storedHead": "SEQ:HASH" | null,
 *    "headMac": "valid" | "invalid" | "legacy" | "unbound" | "missing",
 *    "tableEnd": "SEQ:HASH" | null}
 *
 * `reason` is the operator's words; `problem` what coffer found; `storedHead` the head the
 * vault had vouched for and `tableEnd` the record the table ended at, so the record keeps
 * what went missing (records tableEnd.seq + 1 to storedHead.seq, when the tail was cut).
 * The record chains onto the table's actual last record (acknowledge.ts).
 */
import type { AuditRecord } from '../store/storage.js';
import type { ChainPoint, HeadProblem } from './head-state.js';

export interface AcknowledgedBreak {
  /** The acknowledging record. */
  seq: number;
  ts: string;
  actor: string;
  reason: string;
  problem: string;
  storedHead: ChainPoint | null;
  headMac: HeadProblem['mac'] | 'unknown';
  tableEnd: ChainPoint | null;
}

const point = (p: ChainPoint | undefined): string | null =>
  p === undefined ? null : `${p.seq}:${p.hash}`;

function readPoint(v: unknown): ChainPoint | null {
  if (typeof v !== 'string') return null;
  const m = /^(\d+):([0-9a-f]{64})$/.exec(v);
  return m === null ? null : { seq: Number(m[1]), hash: m[2]! };
}

/** The detail of the acknowledging record. */
export function acknowledgementDetail(reason: string, p: HeadProblem): string {
  return JSON.stringify({
    reason,
    problem: p.reason,
    storedHead: point(p.stored),
    headMac: p.mac,
    tableEnd: point(p.tableEnd),
  });
}

/** Reads an acknowledging record back (a detail that does not parse is shown as it is). */
export function readAcknowledgement(r: AuditRecord): AcknowledgedBreak {
  let d: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(r.detail ?? '');
    if (parsed !== null && typeof parsed === 'object') d = parsed as Record<string, unknown>;
  } catch {
    d = { reason: r.detail ?? '' };
  }
  const text = (v: unknown): string => (typeof v === 'string' ? v : '');
  const mac = d.headMac;
  return {
    seq: r.seq,
    ts: r.ts,
    actor: r.actor,
    reason: text(d.reason),
    problem: text(d.problem),
    storedHead: readPoint(d.storedHead),
    headMac:
      mac === 'valid' ||
      mac === 'invalid' ||
      mac === 'legacy' ||
      mac === 'unbound' ||
      mac === 'missing'
        ? mac
        : 'unknown',
    tableEnd: readPoint(d.tableEnd),
  };
}
