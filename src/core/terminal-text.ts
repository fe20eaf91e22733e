/**
 * Stored text as it may be shown on a terminal. Audit records, version actors and the like
 * are text anyone who can write the database can edit in place (SECURITY.md: an edited old
 * record does not stop work), so they can hold what a terminal executes instead of showing:
 * ESC sequences that move the cursor and erase lines (hiding a record, or drawing a fake
 * one), carriage returns that overwrite a line, OSC 52 (write to the clipboard) or OSC 8
 * (hyperlinks). Every front end's text output of such a field goes through
 * `escapeControls`; JSON output needs nothing, as JSON escapes all of them already.
 *
 * What it does not do: escape backslashes (the text `\x1b` and an escaped ESC look the
 * same; the JSON output tells them apart), or touch bidirectional formatting characters,
 * which terminals show as they are.
 */

/** A C0 control (U+0000-U+001F), DEL (U+007F) or a C1 control (U+0080-U+009F)? */
function isControl(code: number): boolean {
  return code < 0x20 || (code >= 0x7f && code <= 0x9f);
}

/**
 * `text` with every C0 control, DEL and C1 control written as `\xNN` (ESC as `\x1b`, a line
 * break as `\x0a`), so that it prints as one line of visible characters; everything else,
 * any other Unicode included, is kept.
 *
 * @example escapeControls('cli:root\u001b[2K\r') === 'cli:root\\x1b[2K\\x0d'
 */
export function escapeControls(text: string): string {
  return escapeExcept(text, () => false);
}

/** `text` with every control `keep` does not keep written as `\xNN` (escapeControls). */
function escapeExcept(text: string, keep: (code: number) => boolean): string {
  const escaped = (code: number) => isControl(code) && !keep(code);
  let i = 0;
  while (i < text.length && !escaped(text.charCodeAt(i))) i++;
  if (i === text.length) return text;
  let out = text.slice(0, i);
  for (; i < text.length; i++) {
    const code = text.charCodeAt(i);
    out += escaped(code) ? `\\x${code.toString(16).padStart(2, '0')}` : text[i];
  }
  return out;
}

/** Tab and line feed: the layout a multi-line value (a PEM key) has, which a terminal shows. */
const LAYOUT = (code: number) => code === 0x09 || code === 0x0a;

/**
 * A secret's value as `coffer get` shows it on a terminal, or undefined when it holds nothing
 * a terminal would act on (it is then printed as it is). Whoever may write a secret could
 * otherwise make the owner's terminal run what the value holds when it is read: OSC 52
 * (write the clipboard), cursor movement that hides or redraws lines, a title change. Tabs
 * and line breaks are kept; a value bound for a pipe or a file is never changed.
 */
export function valueForTerminal(value: string): string | undefined {
  const shown = escapeExcept(value, LAYOUT);
  return shown === value ? undefined : shown;
}

/**
 * Is `text` one line of printable text: no C0 or C1 control, no DEL, no line or paragraph
 * separator (U+2028, U+2029) and no lone surrogate (which no UTF-8 can carry)? For text
 * from outside that coffer stores or shows as it is, such as a backup header's fields.
 */
export function isPrintable(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (isControl(code) || code === 0x2028 || code === 0x2029) return false;
    if (code >= 0xd800 && code <= 0xdfff) {
      const next = text.charCodeAt(i + 1);
      if (code >= 0xdc00 || !(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    }
  }
  return true;
}
