/**
 * Durations of the rotation commands: `--due-within 30d`, `--grace 7d`, `--since 30d`.
 *
 *   duration = "0" | count unit      count = 0..9999 without leading zeros
 *   unit     = "h" (hours) | "d" (days) | "w" (weeks, 7 d) | "m" (months, 30 d) | "y" (years, 365 d)
 *
 * The units are those of rotation policies (policy.ts) plus hours, so a policy of `90d` and
 * a window of `90d` mean the same span. The grammar lives here only.
 */
import { CofferError } from '../errors.js';

const DURATION = /^(0|[1-9][0-9]{0,3})([hdwmy])$/;
const HOUR_MS = 3_600_000;
const MS_PER_UNIT = {
  h: HOUR_MS,
  d: 24 * HOUR_MS,
  w: 7 * 24 * HOUR_MS,
  m: 30 * 24 * HOUR_MS,
  y: 365 * 24 * HOUR_MS,
} as const;

/** One day in milliseconds. */
export const DAY_MS: number = MS_PER_UNIT.d;

/** The duration a text names, in milliseconds, or undefined when it is not one. */
export function readDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const m = DURATION.exec(text);
  if (m === null) return undefined;
  return Number(m[1]) * MS_PER_UNIT[m[2] as keyof typeof MS_PER_UNIT];
}

/** Parses a duration given as `option` (named in the error); throws INVALID_ARGUMENT. */
export function parseDuration(text: string, option: string): number {
  const ms = typeof text === 'string' ? readDuration(text) : undefined;
  if (ms !== undefined) return ms;
  const shown = typeof text === 'string' ? JSON.stringify(text.slice(0, 40)) : typeof text;
  throw new CofferError('INVALID_ARGUMENT', `invalid ${option} ${shown}`, {
    hint: 'Use a count and a unit: 12h, 7d, 2w, 6m (30 days each), 1y, or 0.',
  });
}

/** A duration for messages: whole days when it is some, else hours. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  if (ms % DAY_MS === 0) return `${ms / DAY_MS}d`;
  return `${Math.round(ms / HOUR_MS)}h`;
}
