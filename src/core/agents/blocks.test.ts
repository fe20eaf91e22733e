import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findBlock, upsertBlock } from './blocks.js';

const M = { begin: '<!-- begin coffer -->', end: '<!-- end coffer -->' };
/** The user's text: anything without coffer's markers. */
const text = fc.string({ maxLength: 60 }).filter((t) => !t.includes('<!--'));
const body = fc.string({ maxLength: 40 }).filter((t) => !t.includes('<!--') && !t.includes('\r'));

describe('upsertBlock', () => {
  it('appends once, replaces in place, keeps the text around it byte for byte', () => {
    fc.assert(
      fc.property(text, text, body, body, (before, after, b1, b2) => {
        const once = upsertBlock(before, M, b1, 'f');
        expect(once.startsWith(before)).toBe(true);
        expect(upsertBlock(once, M, b1, 'f')).toBe(once);
        expect(findBlock(once, M, 'f')?.body.replace(/\r/g, '')).toBe(b1);
        // The user writes below the block; a new body replaces the old one only.
        const edited = once + after;
        const twice = upsertBlock(edited, M, b2, 'f');
        expect(twice.startsWith(before)).toBe(true);
        expect(twice.endsWith(after)).toBe(true);
        expect(findBlock(twice, M, 'f')?.body.replace(/\r/g, '')).toBe(b2);
        expect(upsertBlock(twice, M, b2, 'f')).toBe(twice);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a lone or repeated marker with its line', () => {
    expect(() => upsertBlock(`a\n${M.begin}\nb\n`, M, 'x', 'AGENTS.md')).toThrow(/^AGENTS\.md:2: /);
    expect(() => upsertBlock(`${M.begin}\n${M.end}\n${M.begin}\n${M.end}\n`, M, 'x', 'f')).toThrow(
      /^f:3: /,
    );
    expect(() => upsertBlock(`${M.end}\n${M.begin}\n`, M, 'x', 'f')).toThrow(/^f:1: /);
  });

  it('reads a CRLF block as its lines, and finds indented markers instead of adding a block', () => {
    const crlf = upsertBlock('# T\r\n', M, 'one\ntwo', 'AGENTS.md');
    expect(crlf).toBe(`# T\r\n\r\n${M.begin}\r\none\r\ntwo\r\n${M.end}\r\n`);
    expect(findBlock(crlf, M, 'AGENTS.md')?.body).toBe('one\ntwo');
    const indented = `# T\n  ${M.begin}\nold\n  ${M.end}\n`;
    expect(findBlock(indented, M, 'f')?.body).toBe('old');
    const updated = upsertBlock(indented, M, 'new', 'f');
    expect(updated).toBe(`# T\n${M.begin}\nnew\n${M.end}\n`);
  });
});
