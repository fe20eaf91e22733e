/**
 * Exiting as soon as a command is done. A Node process that ends by itself frees its whole heap
 * first (tens of milliseconds for coffer's bundle and caches); `process.exit` skips that. Only
 * a command that knows nothing is left to do asks for it (`run`, once the program has exited
 * and its output is written), and only while nothing waits to be written to stdout or stderr.
 */
import { stdoutMade } from './output.js';

let requested = false;

/** Called by a command with nothing left to do after it returns. */
export function exitWhenDone(): void {
  requested = true;
}

/** Ends the process now if the command asked for it and no output is pending (bin.ts). */
export function exitIfDone(): void {
  if (!requested) return;
  requested = false;
  if ((stdoutMade() && process.stdout.writableLength > 0) || process.stderr.writableLength > 0)
    return;
  process.exit();
}
