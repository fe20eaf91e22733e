/**
 * What a hidden prompt has read: the terminal's input in raw mode, fed chunk by chunk, turned
 * into one answer, a cancel or an interrupt. No I/O here; `promptHidden` in input.ts drives it.
 *
 * A paste of several lines (a PEM key) must never be cut at its first line break: the rest of
 * it would be thrown away or, worse, left in the terminal's queue for the shell to run, echo and
 * save in its history. So the answer is complete only when the line has ended AND no paste is
 * still coming. A paste is known by its bracketed-paste markers (ESC[200~ ... ESC[201~), which
 * the terminal sends when the prompt has turned the mode on (ESC[?2004h); a terminal without
 * them is covered by waiting until it is quiet (input.ts). Anything after the line break (a CR
 * LF pair is one break) makes the answer `multiLine`: it is refused as a whole, never shortened.
 *
 * A start marker whose end never comes (a terminal or multiplexer that loses it) would make every
 * later key text of the paste, Enter and Ctrl-C included, and hold the prompt for ever. The
 * caller gives up on such a paste once the terminal has been quiet for a while
 * (`abandonPaste`): the answer is then refused whole, never taken, since the rest of the paste
 * may only be late (a slow link), and a Ctrl-C typed into it interrupts.
 */

export const PASTE_START = '\u001b[200~';
export const PASTE_END = '\u001b[201~';

export class HiddenAnswer {
  /** The line typed or pasted so far (no line break). */
  value = '';
  /** How the line ended: Enter (or Ctrl-D after text), or Ctrl-D on an empty line. */
  ended: 'line' | 'cancel' | undefined;
  /** Input came after the line break. */
  private extra = false;
  /** Ctrl-C outside a paste: the caller ends the process as Ctrl-C does. */
  interrupted = false;
  private inPaste = false;
  /** A Ctrl-C byte came inside this paste: it interrupts if the paste is abandoned. */
  private interruptInPaste = false;
  /** A paste was given up on before its end marker came: the answer is refused whole. */
  abandoned = false;
  /** A possible paste marker split across chunks. */
  private pending = '';
  /** The break was a CR, so one LF right after it belongs to it (CR LF line ends). */
  private afterCr = false;

  /**
   * True when the line has ended and no paste is still coming: once the terminal is quiet too,
   * the answer is final.
   */
  get complete(): boolean {
    return this.ended !== undefined && !this.inPaste;
  }

  /** A paste has started and its end marker has not come yet. */
  get pasting(): boolean {
    return this.inPaste;
  }

  /**
   * Gives up on a paste whose end marker has not come although the terminal went quiet: the
   * answer is `abandoned` (refused whole: none of it is taken). A Ctrl-C that came inside the
   * paste interrupts instead (a real paste holds no Ctrl-C byte worth keeping).
   */
  abandonPaste(): void {
    if (!this.inPaste) return;
    this.inPaste = false;
    this.abandoned = true;
    if (this.interruptInPaste) this.interrupted = true;
  }

  /** Input came after the line break (a paste of several lines): the answer is refused whole. */
  get multiLine(): boolean {
    // Half an escape sequence after the break is input after it as well.
    return this.extra || (this.ended !== undefined && this.pending !== '');
  }

  feed(chunk: string): void {
    for (const ch of chunk) {
      if (this.interrupted) return;
      this.feedChar(ch);
    }
  }

  private feedChar(ch: string): void {
    if (this.pending === '' && ch !== '\u001b') {
      this.input(ch);
      return;
    }
    this.pending += ch;
    if (this.pending === PASTE_START || this.pending === PASTE_END) {
      const start = this.pending === PASTE_START;
      this.pending = '';
      // A second paste after the line break is more input as well.
      if (start && this.ended !== undefined) this.extra = true;
      this.afterCr = false;
      this.inPaste = start;
      // A Ctrl-C byte counts only within the paste it came in.
      this.interruptInPaste = false;
      return;
    }
    if (PASTE_START.startsWith(this.pending) || PASTE_END.startsWith(this.pending)) return;
    // Not a marker (an arrow key, Alt-something): its characters are ordinary input, and an ESC
    // among them may start a marker again.
    const text = this.pending;
    this.pending = '';
    this.input(text[0]!);
    for (const c of text.slice(1)) this.feedChar(c);
  }

  private input(ch: string): void {
    if (ch === '\u0003' && this.inPaste) this.interruptInPaste = true;
    if (this.ended !== undefined) {
      if (ch === '\n' && this.afterCr) this.afterCr = false;
      else if (ch === '\u0003' && !this.inPaste) this.interrupted = true;
      else {
        this.afterCr = false;
        this.extra = true;
      }
      return;
    }
    if (ch === '\r' || ch === '\n') {
      this.ended = 'line';
      this.afterCr = ch === '\r';
      return;
    }
    // Inside a paste every character is text: a pasted control byte is not a keystroke.
    if (this.inPaste) {
      this.value += ch;
      return;
    }
    // Ctrl-D: the end of input on an empty line is no answer (a passphrase of nothing would be
    // "wrong"); after some text it ends the line, as a terminal does.
    if (ch === '\u0004') this.ended = this.value === '' ? 'cancel' : 'line';
    else if (ch === '\u0003') this.interrupted = true;
    else if (ch === '\u007f' || ch === '\b') this.value = this.value.slice(0, -1);
    else this.value += ch;
  }
}
