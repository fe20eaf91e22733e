/**
 * A block of lines that coffer owns inside a file the user owns too (AGENTS.md, CLAUDE.md,
 * .cursorignore): between a begin and an end marker line, replaced in place on every run and
 * appended when absent, so a rerun updates it and the rest of the file stays byte-identical.
 */
import { CofferError } from '../errors.js';

export interface BlockMarkers {
  /** The begin marker line (matched as the start of a line, trimmed at both ends). */
  begin: string;
  end: string;
}

/** Where the block is: offsets of its first and past its last line, or undefined. */
export function findBlock(
  text: string,
  markers: BlockMarkers,
  file: string,
): { start: number; end: number; body: string } | undefined {
  const lines = text.split('\n');
  const begins: number[] = [];
  const ends: number[] = [];
  lines.forEach((l, n) => {
    const t = l.trim();
    if (t.startsWith(markers.begin)) begins.push(n);
    else if (t.startsWith(markers.end)) ends.push(n);
  });
  if (begins.length === 0 && ends.length === 0) return undefined;
  if (begins.length !== 1 || ends.length !== 1 || ends[0]! < begins[0]!) {
    const at = (begins.length !== 1 ? (begins[1] ?? ends[0]) : (ends[0] ?? begins[0]))!;
    throw new CofferError(
      'INVALID_ARGUMENT',
      `${file}:${at + 1}: coffer's block markers are broken (one "${markers.begin}" line, then one "${markers.end}" line expected)`,
      {
        hint: 'Remove the stray marker lines (or the whole block), then run the command again; nothing was written.',
      },
    );
  }
  const offset = (n: number): number => lines.slice(0, n).reduce((a, l) => a + l.length + 1, 0);
  const start = offset(begins[0]!);
  const endLine = ends[0]!;
  const end = Math.min(text.length, offset(endLine) + lines[endLine]!.length + 1);
  // The body as lines without their `\r` (a CRLF file), to compare with what would be written.
  const body = lines
    .slice(begins[0]! + 1, endLine)
    .map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l))
    .join('\n');
  return { start, end, body };
}

/** `text` with the block holding `body` (lines, without markers) in place or appended. */
export function upsertBlock(
  text: string,
  markers: BlockMarkers,
  body: string,
  file: string,
): string {
  const crlf = text.includes('\r\n');
  const block = `${markers.begin}\n${body}\n${markers.end}\n`;
  const out = crlf ? block.replace(/\n/g, '\r\n') : block;
  const found = findBlock(text, markers, file);
  if (found) {
    const tail = text.slice(found.end);
    // The old block may have been the last line of a file without a final newline.
    const ending =
      found.end === text.length && !text.endsWith('\n') ? out.replace(/\r?\n$/, '') : out;
    return text.slice(0, found.start) + ending + tail;
  }
  if (text === '') return out;
  const sep =
    text.endsWith('\n\n') || text.endsWith('\r\n\r\n') ? '' : text.endsWith('\n') ? '\n' : '\n\n';
  return text + (crlf ? sep.replace(/\n/g, '\r\n') : sep) + out;
}
