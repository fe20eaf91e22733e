/**
 * Rotation policies: how often a secret's value must change, as stored in its metadata and
 * written in `coffer describe --rotation` (and, later, the manifest).
 *
 *   policy   = period | "on-compromise" | "never"
 *   period   = count unit          count = 1..9999 without leading zeros
 *   unit     = "d" (days) | "w" (weeks, 7 d) | "m" (months, 30 d) | "y" (years, 365 d)
 *
 * `on-compromise` means: rotate only after a leak (incident); `never`: a value that cannot
 * be rotated (documented as such). A period is due that many days after the current
 * version was created. The grammar lives here only; every front end parses through it.
 */
import { CofferError } from '../errors.js';

export type RotationPolicy =
  | { kind: 'period'; count: number; unit: 'd' | 'w' | 'm' | 'y'; days: number }
  | { kind: 'on-compromise' }
  | { kind: 'never' };

const PERIOD = /^([1-9][0-9]{0,3})([dwmy])$/;
const DAYS_PER_UNIT = { d: 1, w: 7, m: 30, y: 365 } as const;

/** The policy a text names, or undefined when it is not one. */
export function readRotationPolicy(text: string): RotationPolicy | undefined {
  if (text === 'on-compromise') return { kind: 'on-compromise' };
  if (text === 'never') return { kind: 'never' };
  const m = PERIOD.exec(text);
  if (m === null) return undefined;
  const count = Number(m[1]);
  const unit = m[2] as keyof typeof DAYS_PER_UNIT;
  return { kind: 'period', count, unit, days: count * DAYS_PER_UNIT[unit] };
}

/** Validates a rotation policy as written; returns it unchanged. Throws INVALID_ARGUMENT. */
export function parseRotationPolicy(text: string): string {
  if (typeof text === 'string' && readRotationPolicy(text) !== undefined) return text;
  const shown = typeof text === 'string' ? JSON.stringify(text.slice(0, 40)) : typeof text;
  throw new CofferError('INVALID_ARGUMENT', `invalid rotation policy ${shown}`, {
    hint: 'Use a period such as 90d, 12w, 6m or 1y, or on-compromise, or never.',
  });
}

/** The policy in its written form. */
export function formatRotationPolicy(p: RotationPolicy): string {
  return p.kind === 'period' ? `${p.count}${p.unit}` : p.kind;
}
