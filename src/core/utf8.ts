/**
 * Text from bytes, one rule for every input coffer reads (stdin, .env files, project files):
 * strict UTF-8, and a leading byte order mark (U+FEFF) kept as a character. TextDecoder's
 * defaults do the opposite on both counts: invalid bytes silently become U+FFFD (and would be
 * stored as part of a secret) and a leading BOM is dropped (so a value that begins with
 * U+FEFF would come back shorter than it was set). Invalid input is refused with the line it
 * is on, never with the bytes themselves.
 */
import { CofferError } from './errors.js';

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The 1-based line of the first byte that is not valid UTF-8, or undefined. */
function badLine(bytes: Uint8Array): number | undefined {
  // Decode growing prefixes line by line: a line of valid UTF-8 ends on a character boundary
  // because LF (0x0A) never occurs inside a multi-byte sequence.
  let line = 1;
  let start = 0;
  for (;;) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    try {
      strict.decode(bytes.subarray(start, end));
    } catch {
      return line;
    }
    if (end >= bytes.length) return undefined;
    start = end + 1;
    line++;
  }
}

/**
 * Decodes `bytes` as UTF-8, keeping a leading BOM; refuses invalid UTF-8 with INVALID_VALUE
 * naming `what` (e.g. `.env`, `the value on stdin`) and, for files (`lines`), the line. A
 * secret value gets no line number: where its bad byte sits says something about it.
 */
export function decodeUtf8(bytes: Uint8Array, what: string, lines = true): string {
  try {
    return strict.decode(bytes);
  } catch (err) {
    // Only a bad byte is invalid UTF-8: a string too long for V8, say, is not.
    if ((err as NodeJS.ErrnoException).code !== 'ERR_ENCODING_INVALID_ENCODED_DATA') throw err;
    const line = lines ? badLine(bytes) : undefined;
    throw new CofferError(
      'INVALID_VALUE',
      `${what} is not valid UTF-8${line !== undefined ? ` (line ${line})` : ''}`,
      { hint: 'Convert it to UTF-8 first (e.g. iconv -f LATIN1 -t UTF-8).' },
    );
  }
}
