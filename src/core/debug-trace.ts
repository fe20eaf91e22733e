/**
 * What COFFER_DEBUG shows of an unexpected error: its class, its `code` and the stack
 * frames, never its message. Messages of errors coffer did not make are not under coffer's
 * control: Node.js quotes the offending argument (`options.env['X'] must be a string without
 * null bytes. Received 'the value'`), a driver may quote a row. Frames name only functions,
 * files and lines, which is what a bug report needs.
 */

/** A multi-line trace of `err` without any message text, for debug output. */
export function debugTrace(err: unknown): string {
  if (!(err instanceof Error)) return `thrown ${typeof err} (not an Error)`;
  const code = (err as { code?: unknown }).code;
  const head = `${err.name}${typeof code === 'string' ? ` [${code.slice(0, 40)}]` : ''}`;
  // V8 frames are the lines that start with `at `; the message (any number of lines, possibly
  // holding a value) comes before the first of them and is left out.
  let stack = String(err.stack ?? '');
  // V8 starts the stack with `String(err)`; cut it off whole, so that a message line that
  // happens to look like a frame is not kept either.
  const header = String(err);
  if (stack.startsWith(header)) stack = stack.slice(header.length);
  const frames = stack.split('\n').filter((line) => /^\s+at /.test(line));
  const cause = err.cause !== undefined ? `\ncaused by: ${debugTrace(err.cause)}` : '';
  return `${[head, ...frames].join('\n')}${cause}`;
}
