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

/**
 * The start of a line not ended yet, held in the pieces it came in and joined once, when it
 * ends; a line past `max` characters is refused (`lineTooLong`) before it is joined. Shared by
 * the splitter below and the scanner's chunk reader.
 */
export class HeldLine {
  readonly #what: string;
  readonly #max: number;
  #pieces: string[] = [];
  #length = 0;

  constructor(what: string, max: number) {
    this.#what = what;
    this.#max = max;
  }

  /** Refuses a line of what is held and `n` more characters when it is past the limit. */
  check(n: number): void {
    if (this.#length + n > this.#max) throw lineTooLong(this.#what, this.#max);
  }

  /** Holds `piece` as more of the line (checked against the limit first). */
  hold(piece: string): void {
    if (piece === '') return;
    this.check(piece.length);
    this.#pieces.push(piece);
    this.#length += piece.length;
  }

  /** What is held, then `more`, as one string; nothing is held afterwards. */
  take(more = ''): string {
    const text = this.#pieces.length === 0 ? more : this.#pieces.join('') + more;
    this.#pieces = [];
    this.#length = 0;
    return text;
  }
}

export class LineSplitter {
  readonly #held: HeldLine;

  /** `what` names the text in an error (`the staged changes`); `max` is the longest line. */
  constructor(what: string, max: number = MAX_LINE_LENGTH) {
    this.#held = new HeldLine(what, max);
  }

  /** The lines that `piece` ends. */
  push(piece: string): string[] {
    scanWork.lineEndChars += piece.length;
    const lines: string[] = [];
    let from = 0;
    for (let i = piece.indexOf('\n'); i >= 0; i = piece.indexOf('\n', from)) {
      this.#held.check(i - from);
      const line = this.#held.take(piece.slice(from, i));
      lines.push(line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line);
      from = i + 1;
    }
    this.#held.hold(piece.slice(from));
    return lines;
  }

  /** The last line, when the text does not end in a newline. */
  end(): string[] {
    const last = this.#held.take();
    return last === '' ? [] : [last];
  }
}
