/**
 * What the comments of a `.env` file say about its variables: the comment block right above
 * a variable describes it (`env import` stores it as the description, `env example` as the
 * placeholder), except for the lines that head a section of the file.
 *
 * A section header is not a description: in
 *
 *     # API Keys
 *     # OpenAI API key for the chat assistant
 *     OPENAI_API_KEY=...
 *     OPENAI_BASE_URL=...
 *
 * OPENAI_API_KEY is described by the second line only. These lines are taken as headers:
 * - decoration (`# =====`, `# -----`, an empty `#`) and decorated titles (`## Database`,
 *   `# === API Keys ===`): they and every line above them are left out;
 * - a title (a short line of capitalised words, no sentence punctuation: `API Keys`,
 *   `Storage (MinIO)`) followed by a line that starts a new sentence;
 * - a block that is only a title, above a run of variables on consecutive lines
 *   (`# Security` above SECRET_KEY and ENCRYPTION_KEY): it names the run, not its first
 *   variable.
 * A title above a single variable (`# Database` above DATABASE_URL) is kept: it is all the
 * file says, and the description rule then asks for more.
 *
 * A commented-out assignment (`# STRIPE_API_KEY=sk_live_...`, an old or a production value
 * kept beside the current one) is not a description either: it is left out, so that its
 * value never becomes a description (stored unencrypted, listed to agents) or a placeholder
 * of a committed `.env.example`.
 *
 * Only comments are read here, never a value.
 */
import { type DotenvEntry, parseDotenvLines } from './parse.js';

/** Words a title may hold in lowercase ("Storage for Uploads"). */
const TITLE_CONNECTORS = new Set(['a', 'an', 'and', 'or', 'of', 'for', 'the', 'to', 'in', 'on']);
const MAX_TITLE_WORDS = 5;

function isDecoration(line: string): boolean {
  return /^[\s=\-*_~#+.|/\\]*$/.test(line);
}

/** `## Database` (the text after the first `#` starts with `#`), `=== API Keys ===`. */
function isDecoratedTitle(line: string): boolean {
  return /^#/.test(line) || /^[=\-*~]{2,}/.test(line) || /[=\-*~#]{2,}$/.test(line);
}

/** A short line of capitalised words without sentence punctuation: `API Keys`. */
export function isTitleLine(line: string): boolean {
  const text = line.trim().replace(/:$/, '');
  if (text === '' || /[.,;!?]$/.test(text)) return false;
  const words = text.split(/\s+/);
  if (words.length > MAX_TITLE_WORDS) return false;
  let capitalised = 0;
  for (const word of words) {
    const letters = word.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
    if (letters === '' || /^\p{N}/u.test(letters)) continue;
    if (/^\p{Lu}/u.test(letters)) capitalised++;
    else if (!TITLE_CONNECTORS.has(letters)) return false;
  }
  return capitalised > 0;
}

function startsSentence(line: string): boolean {
  return /^[^\p{L}\p{N}]*[\p{Lu}\p{N}]/u.test(line.trim());
}

/**
 * The description in the comment lines above one variable (their text after `#`), or
 * undefined when they hold only headers. `run` is true when the variable is the first of
 * several on consecutive lines.
 */
export function descriptionFromComment(lines: readonly string[], run = false): string | undefined {
  const trimmed = lines.map((l) => l.trim());
  // Decoration, a decorated title or an empty `#` line ends what is above it.
  const kept = trimmed.slice(
    trimmed.findLastIndex((l) => isDecoration(l) || isDecoratedTitle(l)) + 1,
  );
  while (kept.length > 1 && isTitleLine(kept[0]!) && startsSentence(kept[1]!)) kept.shift();
  if (kept.length === 0) return undefined;
  if (kept.length === 1 && run && isTitleLine(kept[0]!)) return undefined;
  return kept.join(' ');
}

/**
 * `KEY=...` or `export KEY=...` (dotenv's key syntax): a commented-out variable. dotenv's
 * `KEY: value` form is not taken, as `Note: rotate monthly` is a sentence.
 */
function isAssignment(text: string): boolean {
  return /^(?:export\s+)?[\w.-]+\s*=/.test(text);
}

/** Whether the pair at `i` is followed by another pair on the very next line. */
function nextLineIsPair(entries: readonly DotenvEntry[], i: number): boolean {
  const next = entries[i + 1];
  if (next?.kind === 'pair') return true;
  if (next?.kind !== 'other' || entries[i + 2]?.kind !== 'pair') return false;
  // The rest of this pair's line, then the start of the next pair's line: no line between.
  return next.raw.split(/\r?\n|\r/).length === 2;
}

/** The description of each variable that has one, from the comments above it. */
export function commentDescriptions(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const entries = parseDotenvLines(text);
  let pending: string[] = [];
  let afterPair = false;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    if (entry.kind === 'pair') {
      if (pending.length > 0) {
        const d = descriptionFromComment(pending, nextLineIsPair(entries, i));
        if (d !== undefined) out.set(entry.key, d);
      }
      pending = [];
      afterPair = true;
      continue;
    }
    const lines = entry.raw.split(/\r?\n|\r/);
    // The first piece after a variable is the rest of its own line (an inline comment);
    // the last piece is the start of the next variable's line, not a line of its own.
    if (afterPair) lines.shift();
    lines.pop();
    afterPair = false;
    for (const line of lines) {
      const m = /^\s*#\s?(.*)$/.exec(line);
      if (m) {
        if (!isAssignment(m[1]!.trim())) pending.push(m[1]!.trim());
      } else if (line.trim() === '') pending = [];
    }
  }
  return out;
}
