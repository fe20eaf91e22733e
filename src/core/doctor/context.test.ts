/**
 * What doctor reads, under its cap: a file past READ_LIMITS.doctorFile is read by no check
 * (as a file that cannot be read) and scanned in chunks instead; a FIFO or a device a clone
 * links to is never read.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type DoctorFixture, makeDoctorFixture } from '../../../test/helpers/doctor-fixture.js';
import { hasMkfifo, makeFifo, startFifoWriter } from '../../../test/helpers/fifo.js';
import { READ_LIMITS } from '../read-limited.js';
import { DoctorContext } from './context.js';

const stripeKey = () =>
  `sk_live_${randomBytes(18).toString('base64url').replace(/[-_]/g, 'a').slice(0, 24)}`;

const fixtures: DoctorFixture[] = [];
afterEach(async () => {
  for (const f of fixtures.splice(0)) await f.cleanup();
});

async function context(readLimit?: number): Promise<{ f: DoctorFixture; ctx: DoctorContext }> {
  const f = await makeDoctorFixture();
  fixtures.push(f);
  const ctx = new DoctorContext({ root: f.root, home: f.home, env: { HOME: f.home }, readLimit });
  return { f, ctx };
}

describe('DoctorContext: the files doctor reads', () => {
  it('reads up to 64 MiB unless told otherwise', async () => {
    expect(READ_LIMITS.doctorFile).toBe(64 * 1024 * 1024);
    const { f, ctx } = await context();
    f.write('src/app.js', "const port = process.env.PORT ?? '3000';\n");
    expect(ctx.text('src/app.js')).toContain('process.env.PORT');
  });

  it('a file past the cap is read by no check, and the scan still finds the key in it', async () => {
    const { f, ctx } = await context(64 * 1024);
    const key = stripeKey();
    f.write('data/dump.sql', `-- dump\nINSERT INTO keys VALUES ('${key}');\n`);
    appendFileSync(join(f.root, 'data/dump.sql'), `-- ${'x'.repeat(1020)}\n`.repeat(64));
    f.write('src/app.js', "const port = process.env.PORT ?? '3000';\n");
    expect(ctx.text('data/dump.sql')).toBeUndefined();
    expect(ctx.text('src/app.js')).toContain('process.env.PORT');
    const { findings } = await ctx.scan();
    expect(findings.map((x) => [x.file, x.line])).toEqual([['data/dump.sql', 2]]);
  });

  it('finds a key in a UTF-16 file with its byte order mark (LE and BE), as coffer scan does', async () => {
    const { f, ctx } = await context();
    const key = stripeKey();
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`KEY=${key}\r\n`, 'utf16le')]);
    const be = Buffer.from(le);
    be.swap16();
    f.write('config/le.txt', ''); // makes config/
    writeFileSync(join(f.root, 'config/le.txt'), le);
    writeFileSync(join(f.root, 'config/be.txt'), be);
    writeFileSync(join(f.root, 'config/raw.bin.txt'), le.subarray(2)); // no mark: binary
    const { findings } = await ctx.scan();
    expect(findings.map((x) => [x.file, x.line, x.ruleId]).sort()).toEqual([
      ['config/be.txt', 1, 'stripe-secret-key'],
      ['config/le.txt', 1, 'stripe-secret-key'],
    ]);
    expect(JSON.stringify(findings)).not.toContain(key);
  });

  it('a link to a device is never read', async () => {
    const { f, ctx } = await context();
    symlinkSync('/dev/zero', join(f.root, 'zero.txt'));
    f.commit();
    expect(ctx.committable()).toContain('zero.txt');
    expect(ctx.text('zero.txt')).toBeUndefined();
    expect((await ctx.scan()).findings).toEqual([]);
  });

  it.skipIf(!hasMkfifo)('a link to a FIFO is never read, whatever is written to it', async () => {
    const { f, ctx } = await context();
    const fifo = makeFifo(f.home, 'pipe');
    symlinkSync(fifo, join(f.root, 'keys.txt'));
    f.commit();
    const writer = await startFifoWriter(fifo, `STRIPE_KEY=${stripeKey()}\n`);
    try {
      expect(ctx.committable()).toContain('keys.txt');
      expect(ctx.text('keys.txt')).toBeUndefined();
      expect((await ctx.scan()).findings).toEqual([]);
    } finally {
      writer.stop();
    }
  });
});
