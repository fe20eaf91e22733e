/**
 * How the CLI talks to people and scripts.
 *
 * - stdout carries the command's data only: a value for `get`, a table, or one JSON document
 *   with --json. Nothing else is ever written there, so `$(coffer get ...)` is safe.
 * - stderr carries everything meant for a person: notes, warnings, progress bars, errors.
 *   Messages are lowercase and start with `coffer: `; an error is one line, then optional
 *   `hint:` lines. With --json an error is one JSON object `{"error": {code, message, hint}}`.
 * - Exit codes: 0 ok, 1 failure, 2 usage, 3 not found, 4 integrity/authentication, 5 conflict.
 * - No secret value is ever part of a message: errors come from CofferError messages, which
 *   name paths and files only. Unexpected errors print their class name, not their text;
 *   COFFER_DEBUG adds their stack frames, still without their text (core/debug-trace.ts).
 * - Stored text (audit records, version actors, file names from the log) reaches a terminal
 *   with its control characters escaped (core/terminal-text.ts): every table cell, note and
 *   warning is; other text output escapes such fields itself. --json output is exact.
 */
import { writeSync } from 'node:fs';
import { debugTrace } from '../core/debug-trace.js';
import { CofferError, type ErrorClass, fromSystemError } from '../core/errors.js';
import { escapeControls } from '../core/terminal-text.js';

export const EXIT: Record<ErrorClass | 'ok', number> = {
  ok: 0,
  failure: 1,
  usage: 2,
  not_found: 3,
  integrity: 4,
  conflict: 5,
};

let stdoutMadeYet = false;
let epipeHandled = false;
/** Whether writeOut may still write to fd 1 itself (see writeDirect). */
let direct = process.platform !== 'win32';

/**
 * process.stdout as it is, for a command that handles the stream's errors itself (`run`'s
 * masked output, `redact`, a backup written to stdout). Every part of the CLI that writes to
 * stdout goes through here, stdout() or writeOut, so that writeOut knows whether the stream
 * was made.
 */
export function rawStdout(): NodeJS.WriteStream {
  direct = false;
  stdoutMadeYet = true;
  return process.stdout;
}

/**
 * process.stdout, with an EPIPE handler: `coffer list | head` closes the pipe early, which
 * is not an error worth a stack trace. Made on first use, so that commands that never
 * write to stdout (`run`) do not pay for creating the stream.
 */
export function stdout(): NodeJS.WriteStream {
  const s = rawStdout();
  if (!epipeHandled) {
    epipeHandled = true;
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  return s;
}

/** Whether stdout's stream was made (and so may hold output not yet written). */
export function stdoutMade(): boolean {
  return stdoutMadeYet;
}

/**
 * Writes `text` to fd 1 with write(2) while no stream was made for it; false when it could not
 * (nothing written: the caller uses the stream, which reports the error as it would have).
 * Making process.stdout for a pipe builds a socket stream (it loads node:net), a noticeable
 * part of a short command's start-up (`$(coffer get ...)`). A write the pipe cannot take at
 * once (a non-blocking pipe that is full) hands the rest to the stream, which waits for it.
 */
function writeDirect(text: string): boolean {
  const bytes = Buffer.from(text, 'utf8');
  let done = 0;
  try {
    while (done < bytes.length) done += writeSync(1, bytes, done);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EPIPE') process.exit(process.exitCode ?? 0);
    direct = false;
    if (done === 0 && (err as NodeJS.ErrnoException).code !== 'EAGAIN') return false;
    stdout().write(bytes.subarray(done));
    return true;
  }
}

export function writeOut(text: string): void {
  if (direct && writeDirect(text)) return;
  stdout().write(text);
}

export function printJson(data: unknown): void {
  writeOut(`${JSON.stringify(data, null, 2)}\n`);
}

/**
 * Refuses `--json` with an option that already writes the command's output to stdout (`-`):
 * the summary would follow that output and spoil both for whoever parses them.
 */
export function refuseJsonWithStdout(json: boolean | undefined, option: string | false): void {
  if (json !== true || option === false) return;
  throw new CofferError(
    'USAGE',
    `--json cannot be used with ${option} - (that output goes to stdout)`,
    {
      hint: `Write it to a file (${option} FILE) to get the summary as JSON.`,
    },
  );
}

export function note(message: string): void {
  process.stderr.write(`coffer: ${escapeControls(message)}\n`);
}

export function warn(message: string): void {
  process.stderr.write(`coffer: warning: ${escapeControls(message)}\n`);
}

/** Prints an error in the chosen style and returns the exit code for it. */
export function reportError(thrown: unknown, json: boolean): number {
  // The reader of coffer's output went away (`coffer redact < log | head`): quiet, and the
  // status of a program that died writing into a closed pipe (128 + SIGPIPE), as `cat` has.
  if ((thrown as NodeJS.ErrnoException | undefined)?.code === 'EPIPE') return 141;
  // A file-system error no command turned into a message of its own: name the file.
  const err = thrown instanceof CofferError ? thrown : (fromSystemError(thrown) ?? thrown);
  const known = err instanceof CofferError;
  const code = known ? err.code : 'INTERNAL';
  const message = known
    ? err.message
    : process.env.COFFER_DEBUG
      ? `internal error: ${debugTrace(err)}`
      : `internal error (${(err as Error)?.name ?? 'unknown'}); run with COFFER_DEBUG=1 for details`;
  const hint = known ? err.hint : undefined;
  if (json) {
    process.stderr.write(
      `${JSON.stringify({ error: { code, message, ...(hint ? { hint } : {}) } })}\n`,
    );
  } else {
    process.stderr.write(`coffer: error: ${message}\n`);
    if (hint) process.stderr.write(`coffer: hint: ${hint}\n`);
  }
  return known ? EXIT[err.errorClass] : EXIT.failure;
}

/**
 * Formats rows as a plain table with a header (no colours; safe for pipes). Cells are stored
 * text: each is shown with its control characters escaped, so none can move the cursor,
 * start a new line or run a terminal command.
 */
export function table(headers: string[], cells: string[][]): string {
  const rows = cells.map((r) => r.map(escapeControls));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join('\n')}\n`;
}

/** A progress bar on stderr when it is a terminal; silent otherwise. */
export function progressBar(label: string): {
  update(done: number, total: number): void;
  end(): void;
} {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  return {
    update(done, total) {
      if (!tty) return;
      const now = Date.now();
      if (now - last < 80 && done < total) return;
      last = now;
      const width = 30;
      const frac = total === 0 ? 1 : Math.min(1, done / total);
      const filled = Math.round(frac * width);
      process.stderr.write(
        `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${Math.round(frac * 100)}%`,
      );
    },
    end() {
      if (tty) process.stderr.write('\n');
    },
  };
}
