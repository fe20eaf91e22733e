import { describe, expect, it } from 'vitest';
import { HiddenAnswer, PASTE_END, PASTE_START } from './hidden-answer.js';

const KEY = [
  '-----BEGIN RSA PRIVATE KEY-----',
  'MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun',
  'VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK',
  '-----END RSA PRIVATE KEY-----',
].join('\n');

/** Feeds the chunks in turn; the answer as the prompt would see it after the last one. */
function answerOf(...chunks: string[]): HiddenAnswer {
  const a = new HiddenAnswer();
  for (const c of chunks) a.feed(c);
  return a;
}

/** Every way to cut `text` into two chunks. */
function splits(text: string): [string, string][] {
  return [...Array(text.length + 1).keys()].map((i) => [text.slice(0, i), text.slice(i)]);
}

describe('HiddenAnswer', () => {
  it('takes a typed line, with backspace, ended by CR, LF or CR LF', () => {
    for (const end of ['\r', '\n', '\r\n']) {
      const a = answerOf('abx\u007fc', end);
      expect(a.complete).toBe(true);
      expect(a.multiLine).toBe(false);
      expect(a.value).toBe('abc');
    }
  });

  it('is not complete before the line ends', () => {
    const a = answerOf('abc');
    expect(a.complete).toBe(false);
    expect(a.ended).toBeUndefined();
  });

  it('Ctrl-D cancels on an empty line and ends a line with text; Ctrl-C interrupts', () => {
    expect(answerOf('\u0004').ended).toBe('cancel');
    const d = answerOf('abc\u0004');
    expect(d.ended).toBe('line');
    expect(d.value).toBe('abc');
    expect(answerOf('ab\u0003').interrupted).toBe(true);
    expect(answerOf('ab\r\u0003').interrupted).toBe(true);
  });

  it('refuses whole an unbracketed paste of several lines, however it is cut', () => {
    for (const [a, b] of splits(KEY)) {
      const answer = answerOf(a, b);
      if (answer.ended === undefined) continue; // the cut is inside the first line: no break yet
      expect(answer.multiLine, JSON.stringify([a.length])).toBe(true);
    }
    // A paste that starts with its line break is no empty answer either.
    expect(answerOf('\nsecond line').multiLine).toBe(true);
  });

  it('reads a bracketed paste to its end marker, whatever the chunks, and refuses several lines', () => {
    const pasted = `${PASTE_START}${KEY}\n${PASTE_END}`;
    for (const [a, b] of splits(pasted)) {
      const first = answerOf(a);
      // Between the markers nothing is final: a paste's line break does not end the answer.
      if (a.length < pasted.length) expect(first.complete).toBe(false);
      const answer = answerOf(a, b);
      expect(answer.complete).toBe(true);
      expect(answer.multiLine).toBe(true);
    }
  });

  it('takes a bracketed paste of one line, with or without its line break, and then Enter', () => {
    expect(answerOf(`${PASTE_START}tok-123${PASTE_END}`, '\r').value).toBe('tok-123');
    const withBreak = answerOf(`${PASTE_START}tok-123\r\n`, PASTE_END);
    expect(withBreak.complete).toBe(true);
    expect(withBreak.multiLine).toBe(false);
    expect(withBreak.value).toBe('tok-123');
  });

  it('keeps pasted control bytes as text and counts a second paste after Enter as more input', () => {
    const a = answerOf(`${PASTE_START}a\u0003b\u0004${PASTE_END}`);
    expect(a.interrupted).toBe(false);
    expect(a.ended).toBeUndefined();
    expect(a.value).toBe('a\u0003b\u0004');
    expect(answerOf('one\r', `${PASTE_START}two${PASTE_END}`).multiLine).toBe(true);
  });

  it('passes other escape sequences through as text (the prompt always did)', () => {
    expect(answerOf('a\u001b[Ab\r').value).toBe('a\u001b[Ab');
    expect(answerOf('a\u001b[2\u001b[200~b', PASTE_END, '\r').value).toBe('a\u001b[2b');
  });

  it('a paste whose end marker never comes is abandoned: refused whole, whatever came in it', () => {
    const a = answerOf(`${PASTE_START}abc`, '\r');
    // Inside the open paste Enter is pasted text: the answer cannot be final.
    expect(a.pasting).toBe(true);
    expect(a.complete).toBe(false);
    a.abandonPaste();
    expect(a.pasting).toBe(false);
    expect(a.abandoned).toBe(true);
    expect(a.interrupted).toBe(false);
    // A paste that ended is never abandoned.
    const whole = answerOf(`${PASTE_START}abc${PASTE_END}`, '\r');
    whole.abandonPaste();
    expect(whole.abandoned).toBe(false);
    expect(whole.complete).toBe(true);
    expect(whole.value).toBe('abc');
  });

  it('a Ctrl-C typed into an abandoned paste interrupts; one from an earlier, whole paste does not', () => {
    const a = answerOf(`${PASTE_START}ab`, '\u0003');
    expect(a.interrupted).toBe(false);
    a.abandonPaste();
    expect(a.interrupted).toBe(true);
    // The Ctrl-C byte of a paste that ended is that paste's text, not a key of the next one.
    const earlier = answerOf(`${PASTE_START}ab\u0003c${PASTE_END}`, `${PASTE_START}def`);
    earlier.abandonPaste();
    expect(earlier.abandoned).toBe(true);
    expect(earlier.interrupted).toBe(false);
  });
});
