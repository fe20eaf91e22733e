/**
 * Named pipes for tests, with a writer that cannot leave a test waiting. A reader that opens a
 * FIFO nobody writes to blocks in open(2), and a synchronous read blocks the whole test
 * worker, past any test timeout. So the writer is started, and known to hold the FIFO open,
 * before anything reads it: it opens the FIFO read-write (which Linux never blocks on), says
 * so on stdout, then writes `line` over and over, up to `bytes` in all, and exits (the reader
 * then sees the end). A writer that fails to start fails the test with that said, and
 * `stop()` (in a finally) kills it whatever the reader did.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** Whether `mkfifo` is there (tests of FIFOs are skipped without it). */
export const hasMkfifo: boolean = spawnSync('sh', ['-c', 'command -v mkfifo']).status === 0;

/** Makes the FIFO `name` in `dir`; its path. */
export function makeFifo(dir: string, name: string): string {
  const fifo = join(dir, name);
  const r = spawnSync('mkfifo', [fifo], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mkfifo ${fifo} failed: ${r.stderr || r.error}`);
  return fifo;
}

/** Writers still running: killed when the test worker exits, should a test not have. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface FifoWriter {
  /** Kills the writer (idempotent): call it in a finally. */
  stop(): void;
}

/** What the writer runs: argv is the FIFO, the line, the byte count. */
const WRITER = `
const fs = require('node:fs');
const [fifo, line, total] = process.argv.slice(1);
const fd = fs.openSync(fifo, 'r+');
fs.writeSync(1, 'open\\n');
const chunk = Buffer.from(line.repeat(Math.max(1, Math.floor(65536 / line.length))));
for (let left = Number(total); left > 0; ) left -= fs.writeSync(fd, chunk, 0, Math.min(chunk.length, left));
`;

/**
 * Starts a writer that holds `fifo` open and writes `line` repeatedly, `bytes` in all (by
 * default 64 MiB: past every limit coffer reads a FIFO under but a backup's, so it is an
 * endless pipe to the reader, and a reader without a limit still ends). Resolves once the
 * FIFO is open; rejects, saying why, when the writer exits or fails before that.
 */
export async function startFifoWriter(
  fifo: string,
  line = 'y\n',
  bytes: number = 64 * 1024 * 1024,
): Promise<FifoWriter> {
  const child: ChildProcess = spawn(process.execPath, ['-e', WRITER, fifo, line, String(bytes)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout?.setEncoding('utf8').once('data', () => resolve());
      child.once('error', (err) =>
        reject(new Error(`the writer of ${fifo} did not start: ${err.message}`)),
      );
      child.once('exit', (code, signal) =>
        reject(
          new Error(
            `the writer of ${fifo} exited (${signal ?? code}) before it opened the FIFO: ${stderr}`,
          ),
        ),
      );
    });
  } catch (err) {
    stop();
    throw err;
  }
  return { stop };
}
