/**
 * setDotenvVariables does a fixed number of passes over the text whatever the number of
 * variables (counted, not timed): the text is parsed once and the result once, where the
 * key-by-key edit parsed the whole text twice per variable (2,000 variables took 11.6 s).
 */
import { describe, expect, it, vi } from 'vitest';

// Parses of the whole text (format.ts also parses each encoded value, a line of its own).
const parses = vi.hoisted(() => ({ count: 0, min: 0 }));
vi.mock('./parse.js', async (original) => {
  const m = await original<typeof import('./parse.js')>();
  return {
    ...m,
    parseDotenv: (text: string) => {
      if (text.length >= parses.min) parses.count++;
      return m.parseDotenv(text);
    },
    parseDotenvLines: (text: string) => {
      if (text.length >= parses.min) parses.count++;
      return m.parseDotenvLines(text);
    },
  };
});

const { setDotenvVariables } = await import('./edit.js');

describe('setDotenvVariables is one pass', () => {
  it.each([1, 10, 500])('parses the text a fixed number of times for %i variables', (n) => {
    const doc = `# head\n${Array.from({ length: 300 }, (_, i) => `OLD_${i}=v${i}`).join('\n')}\n`;
    const updates: Record<string, string> = {};
    for (let i = 0; i < n; i++) updates[i % 2 === 0 ? `OLD_${i % 300}` : `NEW_${i}`] = `x ${i}`;
    parses.count = 0;
    parses.min = doc.length;
    setDotenvVariables(doc, updates);
    // At least one: the counted parser is the one edit.js calls.
    expect(parses.count).toBeGreaterThanOrEqual(1);
    expect(parses.count).toBeLessThanOrEqual(2);
  });
});
