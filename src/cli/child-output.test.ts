import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type OutputChannel, openOutputChannels, sameDestination } from './child-output.js';

let tmp: string;
let savedTmp: string | undefined;
beforeEach(() => {
  savedTmp = process.env.TMPDIR;
  tmp = mkdtempSync(join(tmpdir(), 'coffer-channels-test-'));
  process.env.TMPDIR = tmp;
});
afterEach(() => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  rmSync(tmp, { recursive: true, force: true });
});

/** Everything read from `ch` until its end, as text. */
function collect(ch: OutputChannel): Promise<string> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    ch.read(
      (chunk) => {
        parts.push(Buffer.from(chunk)); // a copy: the buffer is reused
        return true;
      },
      () => resolve(Buffer.concat(parts).toString()),
    );
  });
}

/** A connection to `path` that another process of the user could make. */
function intrude(path: string, send?: Buffer | string): Promise<{ sock: Socket; got: string[] }> {
  return new Promise((resolve, reject) => {
    const got: string[] = [];
    const sock = connect(path, () => {
      if (send !== undefined) sock.write(send);
      resolve({ sock, got });
    });
    sock.on('data', (d: Buffer) => got.push(d.toString()));
    sock.on('error', () => {});
    sock.once('error', reject);
  });
}

const closed = (s: Socket) =>
  new Promise<void>((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())));

describe.skipIf(process.platform === 'win32')('openOutputChannels', () => {
  it('carries what the child end writes to the reader, each channel its own', async () => {
    const chans = await openOutputChannels(2);
    expect(chans).toHaveLength(2);
    const [a, b] = chans!;
    const got = [collect(a!), collect(b!)];
    a!.childEnd.end('to stdout');
    b!.childEnd.end('to stderr');
    expect(await Promise.all(got)).toEqual(['to stdout', 'to stderr']);
    // The private directory is gone once the channels are made.
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('refuses an intruder: it gets none of the output and cannot inject any', async () => {
    const intruders: { sock: Socket; got: string[] }[] = [];
    const chans = await openOutputChannels(1, {
      listening: async (path) => {
        // Before coffer connects: silent, a wrong token of the right length, text.
        intruders.push(await intrude(path));
        intruders.push(await intrude(path, Buffer.alloc(32, 7)));
        intruders.push(await intrude(path, 'INJECTED output\n'));
      },
    });
    expect(chans).toHaveLength(1);
    const ch = chans![0]!;
    const got = collect(ch);
    ch.childEnd.end('the child output');
    expect(await got).toBe('the child output');
    for (const i of intruders) {
      await closed(i.sock);
      expect(i.got.join('')).toBe('');
    }
  });

  it('resolves to undefined (the caller falls back to pipes) when it cannot make the socket', async () => {
    process.env.TMPDIR = join(tmp, 'missing');
    expect(await openOutputChannels(1)).toBeUndefined();
    // A directory whose socket path would not fit in sun_path.
    process.env.TMPDIR = mkdtempSync(join(tmp, 'x'.repeat(120)));
    expect(await openOutputChannels(1)).toBeUndefined();
    expect(readdirSync(process.env.TMPDIR)).toEqual([]);
  });

  it('keeps what the child writes before the reader is attached', async () => {
    const [ch] = (await openOutputChannels(1))!;
    ch!.childEnd.write('early ');
    await new Promise((r) => setTimeout(r, 50)); // several turns of the loop: no one reads
    const got = collect(ch!);
    ch!.childEnd.end('and late');
    expect(await got).toBe('early and late');
  });

  it('ends a channel closed before it is read', async () => {
    const [ch] = (await openOutputChannels(1))!;
    ch!.close();
    expect(await collect(ch!)).toBe('');
  });
});

describe.skipIf(process.platform === 'win32')('sameDestination', () => {
  it('is true for one file, pipe end or device seen through two descriptors, else false', () => {
    const a = join(tmp, 'a.log');
    const b = join(tmp, 'b.log');
    writeFileSync(a, '');
    writeFileSync(b, '');
    const fds = [openSync(a, 'a'), openSync(a, 'a'), openSync(b, 'a')];
    const nulls = [openSync('/dev/null', 'w'), openSync('/dev/null', 'w')];
    try {
      expect(sameDestination(fds[0]!, fds[1]!)).toBe(true); // `>a.log 2>a.log`
      expect(sameDestination(fds[0]!, fds[2]!)).toBe(false); // `>a.log 2>b.log`
      expect(sameDestination(nulls[0]!, nulls[1]!)).toBe(true);
      expect(sameDestination(fds[0]!, nulls[0]!)).toBe(false);
      const closed = openSync(b, 'r');
      closeSync(closed);
      expect(sameDestination(fds[0]!, closed)).toBe(false); // not open: cannot tell
    } finally {
      for (const fd of [...fds, ...nulls]) closeSync(fd);
    }
  });
});
