/**
 * The sockets a child of `coffer run` writes its masked output into. Node reads a child's
 * stdio pipe (already a socket pair on Unix) into a new buffer on every read; these sockets
 * are read with `onread` into one buffer that is reused, which halves what coffer spends per
 * megabyte passed through. The child sees what it would with a pipe: a Unix stream socket
 * that is not a terminal.
 *
 * Node cannot make a socket pair, so each is a connection to a listening socket in a private
 * directory (mode 0700, removed as soon as the connections are made): coffer connects, keeps
 * the connecting end to read from and gives the accepted end to the child. Only a connection
 * that first sends its channel's 256-bit token is accepted as that channel's; any other
 * connection (another process of the same user, or root, finding the path) is closed before
 * it could receive the child's output, and nothing it writes is read. When any of this is not
 * possible (no writable temporary directory, a path too long for a socket, Windows, a
 * handshake that does not finish in time), `openOutputChannels` resolves to undefined and the
 * caller falls back to Node's own pipes.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { fstatSync, mkdtempSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Bytes read at once (the buffer each channel reuses). */
const READ_SIZE = 1 << 20;
const TOKEN_LENGTH = 32;
/**
 * The handshake is local and needs a few turns of the event loop; if it has not finished this
 * long after the loop first turns (the vault is read in between, a passphrase's KDF
 * included), pipes are used.
 */
const HANDSHAKE_MS = 5000;
/** sun_path holds 108 bytes on Linux, 104 on macOS, including the terminating NUL. */
const MAX_SOCKET_PATH = 100;

/**
 * Whether file descriptors `a` and `b` lead to the same file, pipe, socket or terminal (as
 * after `2>&1`); false when either cannot be examined, and on Windows, where the numbers
 * that would tell are not reliable.
 */
export function sameDestination(a: number, b: number): boolean {
  if (process.platform === 'win32') return false;
  try {
    // As bigints: an inode number above 2^53 (CIFS, NFS, overlayfs) would lose its low bits.
    const x = fstatSync(a, { bigint: true });
    const y = fstatSync(b, { bigint: true });
    return x.ino !== 0n && x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/** One channel: the child's end, and reading from coffer's end. */
export interface OutputChannel {
  /** Goes into `spawn`'s stdio; close it (`destroy`) once the child has it. */
  readonly childEnd: Socket;
  /**
   * Starts reading: `onChunk` gets each chunk as a view of the reused buffer and returns false
   * when it keeps a reference to it (reading then waits for `resume`); `onEnd` is called once
   * when the child's end is closed (by the child and everything it started) or fails.
   */
  read(onChunk: (chunk: Buffer, resume: () => void) => boolean, onEnd: () => void): void;
  /** Closes both ends (for a run that is not started). */
  close(): void;
}

/** Test seam: called with the socket's path once it listens, before coffer connects. */
export interface ChannelHooks {
  listening?: (path: string) => Promise<void> | void;
}

/**
 * `count` output channels, or undefined when they cannot be made (the caller then uses pipes).
 * Never rejects.
 */
export async function openOutputChannels(
  count: number,
  hooks: ChannelHooks = {},
): Promise<OutputChannel[] | undefined> {
  if (process.platform === 'win32') return undefined;
  let dir: string;
  try {
    dir = mkdtempSync(join(tmpdir(), 'coffer-run-'));
  } catch {
    return undefined;
  }
  const path = join(dir, 'out');
  const server = createServer({ pauseOnConnect: true });
  const clients: Socket[] = [];
  const accepted: (Socket | undefined)[] = new Array(count).fill(undefined);
  /** Every connection the server took: those that are not a channel's are closed. */
  const connections: Socket[] = [];
  let timer: NodeJS.Timeout | undefined;
  let arm: NodeJS.Immediate | undefined;
  let removed = false;
  /** The path is needed only until coffer's own connections are made. */
  const remove = (): void => {
    if (removed) return;
    removed = true;
    removeDirectory(dir, path);
  };
  const cleanUp = (): void => {
    clearImmediate(arm);
    clearTimeout(timer);
    server.close();
    remove();
    for (const s of connections) if (!accepted.includes(s)) s.destroy();
  };
  const tokens = Array.from({ length: count }, () => randomBytes(TOKEN_LENGTH));
  const readers = tokens.map(() => reader());
  /** Set once coffer connects (only its connections can send a token). */
  let ready = (): void => {};
  // From the first connection on, also those made before coffer's own.
  server.on('connection', (sock: Socket) => {
    connections.push(sock);
    identify(sock, tokens, accepted, () => {
      if (accepted.every((s) => s !== undefined)) ready();
    });
  });
  try {
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH) throw new Error('socket path too long');
    await listen(server, path);
    await hooks.listening?.(path);
    await new Promise<void>((resolve, reject) => {
      arm = setImmediate(() => {
        timer = setTimeout(() => reject(new Error('handshake timed out')), HANDSHAKE_MS);
      });
      server.on('error', reject);
      ready = resolve;
      for (let i = 0; i < count; i++) {
        const client = connect({ path, onread: readers[i]!.onread });
        clients.push(client);
        client.on('error', reject);
        client.write(tokens[i]!);
      }
      // A Unix socket connects at once (the connections wait in the server's backlog): the
      // path goes now, not after the handshake, so nothing is left behind if coffer is
      // stopped meanwhile, and no one else can connect.
      remove();
    });
    cleanUp();
    // Nothing is read until `read` has a consumer for it.
    for (const client of clients) client.pause();
    return clients.map((client, i) => channel(client, accepted[i]!, readers[i]!));
  } catch {
    cleanUp();
    for (const s of [...clients, ...accepted]) s?.destroy();
    return undefined;
  }
}

/**
 * Removes the private directory and the socket in it. The directory holds nothing else, so
 * two calls do (a recursive rmSync first loads more of Node than the whole rest of this);
 * anything unexpected in it falls back to removing it whole.
 */
function removeDirectory(dir: string, socket: string): void {
  try {
    unlinkSync(socket);
  } catch {
    // not made, or already removed by the server's close
  }
  try {
    rmdirSync(dir);
  } catch {
    rmSync(dir, { recursive: true, force: true });
  }
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Reads a new connection's first bytes: exactly a channel's token (and no more) makes it that
 * channel's child end; anything else closes it.
 */
function identify(
  sock: Socket,
  tokens: Buffer[],
  accepted: (Socket | undefined)[],
  matched: () => void,
): void {
  let got = Buffer.alloc(0);
  const refuse = (): void => {
    sock.removeAllListeners('data');
    sock.destroy();
  };
  sock.on('error', refuse);
  sock.on('end', refuse);
  sock.on('data', (d: Buffer) => {
    got = Buffer.concat([got, d]);
    if (got.length < TOKEN_LENGTH) return;
    const i =
      got.length === TOKEN_LENGTH
        ? tokens.findIndex((t, k) => accepted[k] === undefined && timingSafeEqual(t, got))
        : -1;
    if (i < 0) {
      refuse();
      return;
    }
    sock.removeAllListeners('data');
    sock.removeAllListeners('end');
    sock.pause();
    accepted[i] = sock;
    matched();
  });
  sock.resume();
}

interface Reader {
  onread: { buffer: Buffer; callback: (n: number, buf: Buffer) => boolean };
  consumer?: (chunk: Buffer, resume: () => void) => boolean;
  resume?: () => void;
}

/** coffer's end's read callback; chunks wait (reading paused) until a consumer is set. */
function reader(): Reader {
  const r: Reader = {
    onread: {
      buffer: Buffer.allocUnsafe(READ_SIZE),
      callback: (n, buf) => {
        // Reading is paused until `read` sets the consumer; nothing can come before then.
        if (r.consumer === undefined) return false;
        return r.consumer(buf.subarray(0, n), r.resume!);
      },
    },
  };
  return r;
}

function channel(client: Socket, childEnd: Socket, r: Reader): OutputChannel {
  return {
    childEnd,
    read(onChunk, onEnd): void {
      let ended = false;
      const end = (): void => {
        if (ended) return;
        ended = true;
        onEnd();
      };
      if (client.destroyed) {
        end(); // closed before reading began (the program could not be started)
        return;
      }
      client.removeAllListeners('error');
      client.on('error', end);
      client.on('end', end);
      client.on('close', end);
      r.resume = () => client.resume();
      r.consumer = onChunk;
      client.resume();
    },
    close(): void {
      childEnd.destroy();
      client.destroy();
    },
  };
}
