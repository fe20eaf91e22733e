/**
 * Reading secrets from people and pipes: stdin when it is not a terminal, a hidden prompt
 * when it is. Secrets never come from argv unless the user insists (`--value`, with a
 * warning), because argv is visible to other users through `ps` and /proc.
 */
import { fstatSync, readSync, type Stats } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CofferError, readFailure } from '../core/errors.js';
import { READ_LIMITS, type TooLargeOptions, tooLarge } from '../core/read-limited.js';
import { MAX_VALUE_BYTES } from '../core/store/values.js';
import { decodeUtf8 } from '../core/utf8.js';
import { HiddenAnswer } from './hidden-answer.js';

/**
 * What was read of stdin and not used yet: what followed a line read from the stream (a
 * terminal, or a stdin read already) in the chunk that ended it. Stdin is read a chunk at a
 * time, only as far as the input asked for needs.
 */
let stdinHeld: Buffer = Buffer.alloc(0);
/** Stdin has been read to its end (or dropped after a refusal). */
let stdinEnded = false;
/** Stdin has been read from at all (process.stdin then owns fd 0). */
let stdinStarted = false;

/**
 * The most stdin coffer reads at all: far above any value (64 KiB) or checkpoint, as large as
 * a .env file may be, and low enough that `yes | coffer ...` stops with an error instead of
 * filling memory. A read that knows what it takes caps it lower (StdinLimit).
 */
export const MAX_STDIN_BYTES = 16 * 1024 * 1024;

/** The largest legitimate input of one kind on stdin, and how its refusal reads. */
export interface StdinLimit {
  /** The most bytes the input holds (a trailing newline that is removed comes on top). */
  bytes: number;
  /** What the limit is for, in the refusal: `a secret's value`, `a .env file`. */
  of: string;
  options?: TooLargeOptions;
}

/** A secret's value (`set`, `rotate --value-stdin`, `incident --value-stdin`): core's limit. */
export const STDIN_VALUE: StdinLimit = {
  bytes: MAX_VALUE_BYTES,
  of: "a secret's value",
  options: {
    code: 'VALUE_TOO_LARGE',
    hint: 'Pipe only the value; store large files elsewhere and keep their key here.',
  },
};

/** A .env file (`env import -`, `env parse -`): the limit of a .env file read by name. */
export const STDIN_DOTENV: StdinLimit = {
  bytes: READ_LIMITS.dotenv,
  of: 'a .env file',
  options: { hint: 'Pipe only the .env file meant.' },
};

/** An audit checkpoint (`audit verify --checkpoint -`): the limit of one read by name. */
export const STDIN_CHECKPOINT: StdinLimit = {
  bytes: READ_LIMITS.checkpoint,
  of: 'an audit checkpoint',
  options: { hint: 'Pipe only the output of `coffer audit head`.' },
};

function stdinTooLarge(): CofferError {
  return new CofferError(
    'VALUE_TOO_LARGE',
    `stdin holds more than ${MAX_STDIN_BYTES / 1024 / 1024} MiB; coffer reads at most that`,
    { hint: 'Pipe only the value or the file meant (a value is at most 64 KiB).' },
  );
}

/**
 * The longest first line of stdin `readStdinLine` takes (a passphrase): far past any
 * passphrase, as long as a secret's value may be. A stdin whose first 64 KiB hold no line
 * break is refused there, not read on to 16 MiB looking for one.
 */
export const MAX_STDIN_LINE_BYTES = 64 * 1024;

function lineTooLong(what: string): CofferError {
  return new CofferError(
    'INVALID_ARGUMENT',
    `the line of stdin with the ${what} is longer than ${MAX_STDIN_LINE_BYTES / 1024} KiB, the limit for a ${what}`,
    {
      hint: `Pipe the ${what} alone on the first line, ended by a line break (printf '%s\\n' "$PASSPHRASE" | coffer ...); what the command reads from stdin comes after it.`,
    },
  );
}

/**
 * The next chunk of stdin, or undefined at its end: what the stream holds now, else the next
 * chunk it gets. Nothing is read past it, so a read can stop at any chunk (`readStreamLine` at
 * its line break) and leave the rest of stdin unread.
 */
function nextStdinChunk(): Promise<Buffer | undefined> {
  if (stdinEnded) return Promise.resolve(undefined);
  stdinStarted = true;
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    const done = (): void => {
      stdin.off('readable', tryRead);
      stdin.off('end', onEnd);
      stdin.off('error', onError);
      // Stops reading fd 0 until the next call: an open pipe nothing more comes from must
      // not keep the process alive once the command is done.
      stdin.pause();
    };
    const tryRead = (): void => {
      const chunk = stdin.read() as Buffer | string | null;
      if (chunk !== null) {
        done();
        resolve(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
      } else if (stdin.readableEnded) onEnd();
    };
    const onEnd = (): void => {
      done();
      stdinEnded = true;
      resolve(undefined);
    };
    const onError = (err: Error): void => {
      done();
      reject(err);
    };
    stdin.on('readable', tryRead);
    stdin.on('end', onEnd);
    stdin.on('error', onError);
    tryRead();
  });
}

/** Wipes what was read and drops stdin (after a refusal: the rest is never read). */
function dropStdin(chunks: Buffer[]): void {
  for (const c of chunks) c.fill(0);
  stdinHeld.fill(0);
  stdinHeld = Buffer.alloc(0);
  stdinEnded = true;
  process.stdin.destroy();
}

/** Stdin is decoded by the same rule as files: strict UTF-8, a leading U+FEFF kept. */
function decode(bytes: Buffer, what: string): string {
  return decodeUtf8(bytes, `the ${what} on stdin`, what === 'input');
}

/**
 * The first line of stdin (for --passphrase-stdin), at most 64 KiB. Nothing past its line break
 * is taken: what follows stays for the command (`readStdinRest`) or, with `coffer run`, for the
 * program it starts, which inherits stdin. A pipe or a file is read a byte at a time up to the
 * line break (`readFdLine`); a terminal hands over one line per read, and a stdin read already
 * goes on from what its stream holds. A stdin with no line break in its first 64 KiB is refused
 * there.
 */
export async function readStdinLine(what: string): Promise<string> {
  // node:tty loads node:net: imported here, not by every command that only reads a file.
  const { isatty } = await import('node:tty');
  if (stdinStarted || stdinHeld.length > 0 || isatty(0)) return readStreamLine(what);
  const { text, ended } = await readFdLine(0, what);
  if (ended) stdinEnded = true;
  return text;
}

/** The line read of an input, the line break left off, and whether the input ended there. */
export interface FdLine {
  text: string;
  ended: boolean;
}

/** How long a line read waits before it reads again a non-blocking stdin that had no byte. */
const EMPTY_READ_RETRY_MS = 10;

/**
 * One line of the open file `fd` (stdin: 0), read a byte at a time so that not one byte past
 * its line break is consumed: a pipe or a file offset shared with a child process is left just
 * after it. A passphrase is short, so the single-byte reads are few; at most 64 KiB and a line
 * break (\r\n or \n) are read, and a longer line is refused without reading further. A pipe left
 * non-blocking (Node's stdin stream, once created, makes it so) is read again after a short
 * wait while it has nothing. Errors name the input, never what was read.
 */
export async function readFdLine(fd: number, what: string): Promise<FdLine> {
  // The line and the \r that may end it.
  const line = Buffer.alloc(MAX_STDIN_LINE_BYTES + 1);
  const byte = Buffer.alloc(1);
  let size = 0;
  let ended = false;
  try {
    for (;;) {
      let got: number;
      try {
        got = readSync(fd, byte, 0, 1, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
          await sleep(EMPTY_READ_RETRY_MS);
          continue;
        }
        // Windows reports the end of a pipe as an error.
        if (code !== 'EOF') throw readFailure('stdin', err);
        got = 0;
      }
      if (got === 0) {
        ended = true;
        break;
      }
      if (byte[0] === 0x0a) break;
      if (size === line.length) throw lineTooLong(what);
      line[size++] = byte[0]!;
    }
    const crlf = size > 0 && line[size - 1] === 0x0d ? 1 : 0;
    if (size - crlf > MAX_STDIN_LINE_BYTES) throw lineTooLong(what);
    return { text: decodeLine(line.subarray(0, size - crlf), what), ended };
  } finally {
    line.fill(0);
    byte.fill(0);
  }
}

/**
 * A passphrase line as text: strict UTF-8, without a leading byte order mark (a passphrase
 * file saved by Notepad has always meant the text after it; vaults created that way must keep
 * opening).
 */
function decodeLine(line: Buffer, what: string): string {
  return decode(line, what).replace(/^\uFEFF/, '');
}

/**
 * The next line of stdin's stream (a terminal, or a stdin read already): it is read a chunk at
 * a time to the line break, and what came after it in those chunks is held for the command.
 */
async function readStreamLine(what: string): Promise<string> {
  const refuseLine = () => lineTooLong(what);
  const chunks: Buffer[] = stdinHeld.length > 0 ? [stdinHeld] : [];
  stdinHeld = Buffer.alloc(0);
  let size = chunks[0]?.length ?? 0;
  let end = chunks[0]?.indexOf(0x0a) ?? -1;
  // A line break may follow a \r: the line is read that far before it counts as too long.
  while (end < 0 && size <= MAX_STDIN_LINE_BYTES + 1) {
    const chunk = await nextStdinChunk();
    if (chunk === undefined) break;
    const at = chunk.indexOf(0x0a);
    if (at >= 0) end = size + at;
    chunks.push(chunk);
    size += chunk.length;
  }
  const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  if (all !== chunks[0]) for (const c of chunks) c.fill(0);
  const lineEnd = end < 0 ? all.length : end;
  const crlf = lineEnd > 0 && all[lineEnd - 1] === 0x0d ? 1 : 0;
  if (lineEnd - crlf > MAX_STDIN_LINE_BYTES) {
    dropStdin([all]);
    throw refuseLine();
  }
  // Kept for the command: what came after the line break in the chunks read.
  stdinHeld = Buffer.from(all.subarray(Math.min(all.length, lineEnd + 1)));
  try {
    return decodeLine(all.subarray(0, lineEnd - crlf), what);
  } finally {
    all.fill(0);
  }
}

/**
 * The rest of stdin as text. Unless `raw`, one trailing newline (\n or \r\n) is removed, so
 * `echo value | coffer set ...` stores `value`. With a `limit`, stdin is read no further than
 * the largest legitimate input of its kind (and that newline): `coffer set ... < /dev/zero`
 * stops at once with the refusal instead of reading megabytes the value check then refuses.
 */
export async function readStdinRest(
  what: string,
  raw: boolean,
  limit?: StdinLimit,
): Promise<string> {
  const cap = Math.min(
    MAX_STDIN_BYTES,
    limit === undefined ? Infinity : limit.bytes + (raw ? 0 : 2),
  );
  const refuse =
    limit === undefined
      ? stdinTooLarge
      : () => tooLarge('stdin', limit.bytes, limit.of, limit.options);
  const chunks: Buffer[] = stdinHeld.length > 0 ? [stdinHeld] : [];
  stdinHeld = Buffer.alloc(0);
  let size = chunks[0]?.length ?? 0;
  for (;;) {
    if (size > cap) {
      dropStdin(chunks);
      throw refuse();
    }
    const chunk = await nextStdinChunk();
    if (chunk === undefined) break;
    chunks.push(chunk);
    size += chunk.length;
  }
  const all = Buffer.concat(chunks);
  for (const c of chunks) c.fill(0);
  try {
    const text = decode(all, what);
    return raw ? text : text.replace(/\r?\n$/, '');
  } finally {
    all.fill(0);
  }
}

export function stdinIsTerminal(): boolean {
  return process.stdin.isTTY === true;
}

/**
 * Whether stdin, when it is not a terminal, holds input now: what is left of it after a
 * passphrase line, or for a file, a pipe or a socket, a byte read without waiting. A pipe
 * nothing was written to (yet) counts as empty and is not waited for: Node opens a pipe or
 * socket on stdin in non-blocking mode (process.stdin, which `stdinIsTerminal` creates), so
 * the read returns EAGAIN at once. A terminal, a device (`</dev/null`) or a closed stdin are
 * not read. The byte read is gone: call this only to refuse the command when it says yes.
 */
export function stdinHoldsInput(): boolean {
  if (stdinIsTerminal()) return false;
  if (stdinHeld.length > 0) return true;
  if (stdinEnded) return false;
  // Read from already (a passphrase line): what the stream holds now, never waited for; fd 0
  // is the stream's, so it is not read around it.
  if (stdinStarted) return process.stdin.readableLength > 0;
  let stats: Stats;
  try {
    stats = fstatSync(0);
  } catch {
    return false;
  }
  // Windows reads its pipes in blocking mode: only a file is read there.
  const stream = process.platform !== 'win32' && (stats.isFIFO() || stats.isSocket());
  if (!stats.isFile() && !stream) return false;
  const probe = Buffer.alloc(1);
  try {
    return readSync(0, probe, 0, 1, null) > 0;
  } catch {
    // EAGAIN: an open pipe with nothing in it.
    return false;
  } finally {
    probe.fill(0);
  }
}

/**
 * How long the terminal must stay quiet after the line break before the answer counts: the
 * pieces of one paste from a terminal without bracketed paste (or tmux, or ssh) come much
 * closer together, and no one types the next key this fast after Enter.
 */
const QUIET_MS = 100;

/**
 * How long a paste may go without input before the prompt gives up on it (its end marker never
 * came: a terminal that lost it) and refuses the answer: long enough for a slow link's pieces
 * of one paste, short enough that no one waits long at a prompt that no longer answers.
 */
const PASTE_STALL_MS = 5000;

const PASTE_MODE_ON = '\u001b[?2004h';
const PASTE_MODE_OFF = '\u001b[?2004l';

export interface HiddenPromptOptions {
  /** How to give an answer of several lines instead (the hint of the refusal). */
  multiLineHint?: string;
}

/**
 * Asks for a secret on the terminal without echoing it. One line: an answer of several lines
 * (a pasted PEM key) is refused whole, never cut short, and the prompt reads the terminal until
 * the paste is over, so none of it is left for the program that reads the terminal next.
 */
export async function promptHidden(
  question: string,
  options: HiddenPromptOptions = {},
): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    throw new CofferError('USAGE', 'no terminal to ask on', {
      hint: 'Pipe the value on stdin instead, e.g. `printf %s "$VALUE" | coffer set ...`.',
    });
  }
  process.stderr.write(question);
  // Bracketed paste tells where a paste ends; the markers are asked for only where the prompt
  // is shown, so they never end up in a redirected stderr.
  const bracketed = process.stderr.isTTY === true;
  return new Promise((resolve, reject) => {
    const answer = new HiddenAnswer();
    let quiet: NodeJS.Timeout | undefined;
    let stall: NodeJS.Timeout | undefined;
    // Killed while asking (SIGTERM from a supervisor, SIGHUP as the terminal closes): the
    // terminal gets its modes back first, then the signal does what it would have done.
    const onSignal = (signal: NodeJS.Signals) => {
      restore();
      process.kill(process.pid, signal);
    };
    let restored = false;
    const restore = () => {
      if (restored) return;
      restored = true;
      process.removeListener('SIGTERM', onSignal);
      process.removeListener('SIGHUP', onSignal);
      clearTimeout(quiet);
      clearTimeout(stall);
      stdin.removeListener('data', onData);
      if (bracketed) process.stderr.write(PASTE_MODE_OFF);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const finish = () => {
      restore();
      if (answer.abandoned) {
        answer.value = '';
        reject(
          new CofferError(
            'USAGE',
            'the terminal began a paste at the prompt and never ended it; none of it was used',
            {
              hint: 'Paste again, or pipe the value on stdin instead, e.g. `printf %s "$VALUE" | coffer set ...`.',
            },
          ),
        );
      } else if (answer.ended === 'cancel') {
        reject(
          new CofferError('USAGE', 'cancelled at the prompt (end of input)', {
            hint: 'Run the command again to answer it.',
          }),
        );
      } else if (answer.multiLine) {
        answer.value = '';
        reject(
          new CofferError(
            'USAGE',
            'the answer at the prompt has more than one line (a paste of several lines?); none of it was used',
            {
              hint:
                options.multiLineHint ??
                'The prompt takes one line: type or paste the answer without a line break.',
            },
          ),
        );
      } else resolve(answer.value);
    };
    /** After each piece of input (or an abandoned paste): interrupt, wait, or finish. */
    const settle = () => {
      if (answer.interrupted) {
        // Ctrl-C: as in a shell, the process ends by SIGINT (exit 130), the terminal restored.
        restore();
        answer.value = '';
        process.kill(process.pid, 'SIGINT');
        return;
      }
      // The answer is final once the terminal has been quiet for a moment after it: whatever a
      // paste still had queued arrives first, and is read here rather than by the shell.
      clearTimeout(quiet);
      clearTimeout(stall);
      if (answer.complete) quiet = setTimeout(finish, QUIET_MS);
      else if (answer.pasting) {
        // The terminal has been quiet this long inside a paste: nothing more of it is coming
        // now, and what came is refused whole.
        stall = setTimeout(() => {
          answer.abandonPaste();
          if (answer.interrupted) settle();
          else finish();
        }, PASTE_STALL_MS);
      }
    };
    const onData = (chunk: string) => {
      answer.feed(chunk);
      settle();
    };
    // The handlers go on before the terminal's modes change: a signal that came in between
    // would end coffer with the terminal left raw and in bracketed-paste mode.
    process.once('SIGTERM', onSignal);
    process.once('SIGHUP', onSignal);
    stdin.setRawMode(true);
    if (bracketed) process.stderr.write(PASTE_MODE_ON);
    stdin.resume();
    stdin.setEncoding('utf8');
    stdin.on('data', onData);
  });
}

/** Asks for one line of ordinary (echoed) text on the terminal. */
export async function promptLine(question: string): Promise<string> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}
