/**
 * Splits text that arrives in pieces (git's output, read from a pipe in chunks of 64 KiB)
 * into lines at `\n`, a `\r` before it dropped (a lone `\r` inside a line is content).
 *
 * Only each new piece is searched for line ends, and the pieces of a line not ended yet are
 * kept apart and joined once, when it ends: a line of many pieces (a minified bundle or a
 * one-line dump in a diff) costs its length, not its length once per piece.
 */
import { scanWork } from './work.js';

export class LineSplitter {
  /** The start of a line not ended yet, in the pieces it came in. */
  #pending: string[] = [];

  /** The lines that `piece` ends. */
  push(piece: string): string[] {
    scanWork.lineEndChars += piece.length;
    const lines: string[] = [];
    let from = 0;
    for (let i = piece.indexOf('\n'); i >= 0; i = piece.indexOf('\n', from)) {
      let line = piece.slice(from, i);
      if (this.#pending.length > 0) {
        line = this.#pending.join('') + line;
        this.#pending = [];
      }
      lines.push(line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line);
      from = i + 1;
    }
    if (from < piece.length) this.#pending.push(piece.slice(from));
    return lines;
  }

  /** The last line, when the text does not end in a newline. */
  end(): string[] {
    const last = this.#pending.join('');
    this.#pending = [];
    return last === '' ? [] : [last];
  }
}
