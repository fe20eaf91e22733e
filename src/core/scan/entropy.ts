/**
 * Shannon entropy of a string, in bits per character, and the character-class measures the
 * generic detector and the filters use to tell random tokens from words and identifiers.
 */

/** Bits per character of `s` (0 for the empty string). */
export function shannonEntropy(s: string): number {
  const n = s.length;
  if (n === 0) return 0;
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  let h = 0;
  for (const k of counts.values()) {
    const p = k / n;
    h -= p * Math.log2(p);
  }
  return h;
}

/** How many of lowercase, uppercase, digits and other characters `s` uses. */
export function charClasses(s: string): number {
  let lower = 0;
  let upper = 0;
  let digit = 0;
  let other = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 97 && c <= 122) lower = 1;
    else if (c >= 65 && c <= 90) upper = 1;
    else if (c >= 48 && c <= 57) digit = 1;
    else other = 1;
  }
  return lower + upper + digit + other;
}

/**
 * True for runs such as `abcdefgh`, `12345678`, `qwertyuiop` or `aaaaaaaa`: strings made
 * mostly of one repeated character or of ascending or descending neighbours.
 */
export function isSequentialOrRepeated(s: string): boolean {
  if (s.length < 4) return false;
  const lower = s.toLowerCase();
  for (const row of [
    'qwertyuiop',
    'asdfghjkl',
    'zxcvbnm',
    '0123456789',
    'abcdefghijklmnopqrstuvwxyz',
  ]) {
    if (row.includes(lower) || lower.includes(row.slice(0, 8))) return true;
  }
  let steps = 0;
  for (let i = 1; i < s.length; i++) {
    const d = s.charCodeAt(i) - s.charCodeAt(i - 1);
    if (d === 0 || d === 1 || d === -1) steps++;
  }
  return steps >= (s.length - 1) * 0.8;
}
