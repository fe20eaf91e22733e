/**
 * Where the server's log lines go: a file descriptor (stderr), written asynchronously in
 * blocks.
 *
 * Lines are queued in memory and written with one `fs.write` per block: once `minLength`
 * characters are waiting, or `maxDelayMs` after the first waiting line, whichever comes
 * first, so a quiet server still shows its lines at once and a busy one makes few writes.
 * One write is in flight at a time; a short write (a full pipe) is continued from where it
 * stopped; EAGAIN is retried. `flushSync` writes everything left, synchronously (shutdown,
 * process exit).
 *
 * pino's own destination (sonic-boom) measures the whole waiting block on every line
 * (Buffer.byteLength of up to 16 KiB), which at thousands of requests a second cost more
 * than formatting the line; here a line costs an array push.
 */
import { write as fsWrite, writeSync } from 'node:fs';

export interface LineSinkOptions {
  /** Characters that make a block worth writing (default 4096). */
  minLength?: number;
  /** Longest a line waits, in ms (default 100). */
  maxDelayMs?: number;
}

export class LineSink {
  readonly #fd: number;
  readonly #minLength: number;
  readonly #maxDelayMs: number;
  #pending: string[] = [];
  #pendingLength = 0;
  #writing = false;
  #timer: NodeJS.Timeout | undefined;
  #drained: (() => void)[] = [];

  constructor(fd: number, options: LineSinkOptions = {}) {
    this.#fd = fd;
    this.#minLength = options.minLength ?? 4096;
    this.#maxDelayMs = options.maxDelayMs ?? 100;
  }

  /** Queues `line` (with its newline). Always true: lines are never dropped. */
  write(line: string): boolean {
    this.#pending.push(line);
    this.#pendingLength += line.length;
    if (this.#writing) return true;
    if (this.#pendingLength >= this.#minLength) this.#start();
    else this.#timer ??= setTimeout(this.#onTimer, this.#maxDelayMs).unref();
    return true;
  }

  /** Calls `done` once every line queued so far has been written (pino's `flush`). */
  flush(done?: (err?: Error) => void): void {
    if (!this.#writing && this.#pending.length === 0) {
      done?.();
      return;
    }
    if (done !== undefined) this.#drained.push(done);
    if (!this.#writing) this.#start();
  }

  /** Writes every queued line now, blocking; for shutdown and process exit. */
  flushSync(): void {
    if (this.#pending.length === 0) return;
    const data = Buffer.from(this.#take());
    let off = 0;
    while (off < data.length) {
      try {
        off += writeSync(this.#fd, data, off);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return;
      }
    }
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    if (!this.#writing && this.#pending.length > 0) this.#start();
  };

  #take(): string {
    const data = this.#pending.length === 1 ? this.#pending[0]! : this.#pending.join('');
    this.#pending = [];
    this.#pendingLength = 0;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    return data;
  }

  #start(): void {
    this.#writing = true;
    this.#send(Buffer.from(this.#take()), 0);
  }

  #send(data: Buffer, off: number): void {
    fsWrite(this.#fd, data, off, data.length - off, null, (err, written) => {
      if (err !== null && err.code !== 'EAGAIN') {
        // stderr is gone (closed pipe): nothing more can be logged; drop what is queued.
        this.#pending = [];
        this.#pendingLength = 0;
        this.#finish();
        return;
      }
      const next = off + (err === null ? written : 0);
      if (next < data.length) {
        if (err !== null) setTimeout(() => this.#send(data, next), 1).unref();
        else this.#send(data, next);
        return;
      }
      if (this.#pendingLength >= this.#minLength || this.#drained.length > 0) {
        if (this.#pending.length > 0) {
          this.#send(Buffer.from(this.#take()), 0);
          return;
        }
      } else if (this.#pending.length > 0) {
        this.#writing = false;
        this.#timer ??= setTimeout(this.#onTimer, this.#maxDelayMs).unref();
        return;
      }
      this.#finish();
    });
  }

  #finish(): void {
    this.#writing = false;
    const drained = this.#drained;
    this.#drained = [];
    for (const done of drained) done();
  }
}
