import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CofferError } from '../errors.js';
import { tokenChecksum } from './checksums.js';
import { LineSplitter } from './line-splitter.js';
import { scanStaged } from './sources.js';
import { resetScanWork, scanWork } from './work.js';

/** `text` cut at `cuts`, split piece by piece. */
function splitInPieces(text: string, cuts: readonly number[]): string[] {
  const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const s = new LineSplitter('the text');
  const out: string[] = [];
  for (const [i, a] of [0, ...at].entries())
    out.push(...s.push(text.slice(a, at[i] ?? text.length)));
  return [...out, ...s.end()];
}

/** The reference: the whole text split at once; a last line with no newline is kept as is. */
function splitWhole(text: string): string[] {
  const parts = text.split('\n');
  const last = parts.pop()!;
  const lines = parts.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  return last === '' ? lines : [...lines, last];
}

describe('LineSplitter', () => {
  it('splits text cut anywhere as the whole text splits', () => {
    const text = fc
      .array(fc.constantFrom('a', 'bc', '\n', '\r', '\r\n', 'é', '日本', ' '), { maxLength: 40 })
      .map((p) => p.join(''));
    fc.assert(
      fc.property(text, fc.array(fc.nat(), { maxLength: 8 }), (t, cuts) => {
        expect(splitInPieces(t, cuts)).toEqual(splitWhole(t));
      }),
      { numRuns: 500 },
    );
  });

  it('searches each character once for a line end, however many pieces a line spans', () => {
    // git's output comes in 64 KiB pieces; the splitter once searched the whole unfinished
    // line again at each piece: a staged file of one 16 MiB line took 18 s.
    const work = (n: number) => {
      const line = 'x'.repeat(n);
      resetScanWork();
      const s = new LineSplitter('the text');
      const lines: string[] = [];
      for (let i = 0; i < n; i += 65536) lines.push(...s.push(line.slice(i, i + 65536)));
      lines.push(...s.push('\n'), ...s.end());
      expect(lines).toEqual([line]);
      return scanWork.lineEndChars;
    };
    expect(work(2 * 1024 * 1024)).toBe(2 * 1024 * 1024 + 1);
    expect(work(4 * 1024 * 1024)).toBe(4 * 1024 * 1024 + 1);
  });

  it('refuses a line past its limit with a clear error, before joining it', () => {
    const s = new LineSplitter('the staged changes', 10);
    expect(s.push('0123456789\nabc')).toEqual(['0123456789']);
    expect(s.push('defg')).toEqual([]);
    let err: unknown;
    try {
      s.push('hijk\n');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CofferError);
    expect((err as CofferError).code).toBe('LINE_TOO_LONG');
    expect((err as CofferError).message).toBe(
      'a line of the staged changes is longer than 10 characters: not scanned',
    );
    expect(() => new LineSplitter('x', 10).push('x'.repeat(11))).toThrow(/longer than 10/);
  });
});

describe('scanStaged on a long line', () => {
  it('finds a token in a staged file of one line of several MiB, in linear work', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-staged-'));
    try {
      expect(spawnSync('git', ['init', '-q', dir]).status).toBe(0);
      const r = Array.from(randomBytes(30), (b) => 'abcdefghijKLMNOPQRST0123456789'[b % 30]).join(
        '',
      );
      const token = `ghp_${r}${tokenChecksum(r)}`;
      const at = 3 * 1024 * 1024 + 777;
      const content = `${'lorem ipsum '.repeat(at / 12 + 1).slice(0, at)} ${token} ${'dolor '.repeat(100_000)}`;
      writeFileSync(join(dir, 'dump.txt'), content);
      expect(spawnSync('git', ['add', 'dump.txt'], { cwd: dir }).status).toBe(0);
      resetScanWork();
      const found = await scanStaged(dir, {});
      expect(found.map((f) => [f.file, f.ruleId, f.line, f.column])).toEqual([
        ['dump.txt', 'github-token', 1, at + 2],
      ]);
      // The diff is the line and a few header lines, each character searched once.
      expect(scanWork.lineEndChars).toBeLessThan(content.length + 1000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
