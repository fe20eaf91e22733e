/**
 * Splits text that arrives in pieces (git's output, read from a pipe in chunks of 64 KiB)
 * into lines at `\n`, a `\r` before it dropped (a lone `\r` inside a line is content).
 *
 * Only each new piece is searched for line ends, and the pieces of a line not ended yet are
 * kept apart and joined once, when it ends: a line of many pieces (a minified bundle or a
 * one-line dump in a diff) costs its length, not its length once per piece.
 *
 * A line is held whole to be scanned, and a JavaScript string cannot pass about 512 Mi
 * characters: a line longer than `MAX_LINE_LENGTH` is refused with a clear error (`lineTooLong`)
 * before it is joined, never an internal one.
 */
import { CofferError } from '../errors.js';
import { scanWork } from './work.js';

/** The longest line the scanner holds and reads, in characters (256 Mi). */
export const MAX_LINE_LENGTH: number = 256 * 1024 * 1024;

/** The error for a line longer than `max` characters in `what` (a file, git's output). */
export function lineTooLong(what: string, max: number): CofferError {
  const size = max % (1024 * 1024) === 0 ? `${max / (1024 * 1024)} MiB` : `${max} characters`;
  return new CofferError('LINE_TOO_LONG', `a line of ${what} is longer than ${size}: not scanned`);
}

export class LineSplitter {
  readonly #what: string;
  readonly #max: number;
  /** The start of a line not ended yet, in the pieces it came in. */
  #pending: string[] = [];
  #pendingLength = 0;

  /** `what` names the text in an error (`the staged changes`); `max` is the longest line. */
  constructor(what: string, max: number = MAX_LINE_LENGTH) {
    this.#what = what;
    this.#max = max;
  }

  /** The lines that `piece` ends. */
  push(piece: string): string[] {
    scanWork.lineEndChars += piece.length;
    const lines: string[] = [];
    let from = 0;
    for (let i = piece.indexOf('\n'); i >= 0; i = piece.indexOf('\n', from)) {
      let line = piece.slice(from, i);
      if (this.#pending.length > 0) {
        this.#grow(line.length);
        line = this.#pending.join('') + line;
        this.#pending = [];
        this.#pendingLength = 0;
      } else if (line.length > this.#max) throw lineTooLong(this.#what, this.#max);
      lines.push(line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line);
      from = i + 1;
    }
    if (from < piece.length) {
      this.#grow(piece.length - from);
      this.#pending.push(piece.slice(from));
    }
    return lines;
  }

  /** Counts `n` more characters of the line not ended yet, refusing one past the limit. */
  #grow(n: number): void {
    this.#pendingLength += n;
    if (this.#pendingLength > this.#max) throw lineTooLong(this.#what, this.#max);
  }

  /** The last line, when the text does not end in a newline. */
  end(): string[] {
    const last = this.#pending.join('');
    this.#pending = [];
    this.#pendingLength = 0;
    return last === '' ? [] : [last];
  }
}
