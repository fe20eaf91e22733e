/**
 * Reading secrets from people and pipes: stdin when it is not a terminal, a hidden prompt
 * when it is. Secrets never come from argv unless the user insists (`--value`, with a
 * warning), because argv is visible to other users through `ps` and /proc.
 */
import { CofferError } from '../core/errors.js';
import { decodeUtf8 } from '../core/utf8.js';

let stdinCache: Buffer | undefined;
let stdinOffset = 0;

/**
 * The most stdin coffer reads: far above any value (64 KiB), .env file or manifest (1 MiB),
 * and low enough that `yes | coffer set ...` stops with an error instead of filling memory.
 */
export const MAX_STDIN_BYTES = 16 * 1024 * 1024;

async function readAllStdin(): Promise<Buffer> {
  if (stdinCache !== undefined) return stdinCache;
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of process.stdin) {
    total += (chunk as Buffer).length;
    if (total > MAX_STDIN_BYTES) {
      for (const c of chunks) c.fill(0);
      process.stdin.destroy();
      throw new CofferError(
        'VALUE_TOO_LARGE',
        `stdin holds more than ${MAX_STDIN_BYTES / 1024 / 1024} MiB; coffer reads at most that`,
        { hint: 'Pipe only the value or the file meant (a value is at most 64 KiB).' },
      );
    }
    chunks.push(chunk as Buffer);
  }
  stdinCache = Buffer.concat(chunks);
  for (const c of chunks) c.fill(0);
  return stdinCache;
}

/** Stdin is decoded by the same rule as files: strict UTF-8, a leading U+FEFF kept. */
function decode(bytes: Buffer, what: string): string {
  return decodeUtf8(bytes, `the ${what} on stdin`, what === 'input');
}

/** The first line of stdin (for --passphrase-stdin); the rest stays for `readStdinRest`. */
export async function readStdinLine(what: string): Promise<string> {
  const all = await readAllStdin();
  let end = all.indexOf(0x0a, stdinOffset);
  if (end < 0) end = all.length;
  const line = all.subarray(stdinOffset, end);
  stdinOffset = Math.min(all.length, end + 1);
  // A passphrase file saved with a byte order mark (Notepad) has always meant the text after
  // it; vaults created that way must keep opening.
  return decode(line, what)
    .replace(/^\uFEFF/, '')
    .replace(/\r$/, '');
}

/**
 * The rest of stdin as text. Unless `raw`, one trailing newline (\n or \r\n) is removed, so
 * `echo value | coffer set ...` stores `value`.
 */
export async function readStdinRest(what: string, raw: boolean): Promise<string> {
  const all = await readAllStdin();
  const text = decode(all.subarray(stdinOffset), what);
  stdinOffset = all.length;
  return raw ? text : text.replace(/\r?\n$/, '');
}

export function stdinIsTerminal(): boolean {
  return process.stdin.isTTY === true;
}

/** Asks for a secret on the terminal without echoing it. */
export async function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    throw new CofferError('USAGE', 'no terminal to ask on', {
      hint: 'Pipe the value on stdin instead, e.g. `printf %s "$VALUE" | coffer set ...`.',
    });
  }
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let buf = '';
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const restore = () => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.removeListener('data', onData);
      process.stderr.write('\n');
    };
    const done = (err?: Error) => {
      restore();
      if (err) reject(err);
      else resolve(buf);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done();
        // Ctrl-D: the end of input on an empty line is no answer (a passphrase of nothing
        // would be "wrong"); after some text it ends the line, as a terminal does.
        if (ch === '\u0004') {
          if (buf !== '') return done();
          return done(
            new CofferError('USAGE', 'cancelled at the prompt (end of input)', {
              hint: 'Run the command again to answer it.',
            }),
          );
        }
        if (ch === '\u0003') {
          // Ctrl-C: as in a shell, the process ends by SIGINT (exit 130), the terminal restored.
          restore();
          buf = '';
          process.kill(process.pid, 'SIGINT');
          return;
        }
        if (ch === '\u007f' || ch === '\b') buf = buf.slice(0, -1);
        else buf += ch;
      }
    };
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
