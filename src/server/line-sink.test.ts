/**
 * The log sink: every line reaches the file, whole and in order, whether written in bursts
 * (blocks), one at a time on a quiet server (the delay), or left waiting at shutdown
 * (flush, flushSync); a full pipe (short writes) loses nothing.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LineSink } from './line-sink.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'coffer-sink-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const flushed = (sink: LineSink) => new Promise<void>((resolve) => sink.flush(() => resolve()));

describe('LineSink', () => {
  it('property: lines written in bursts between turns arrive whole and in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.string({ maxLength: 300 }), { maxLength: 40 }), { maxLength: 12 }),
        fc.integer({ min: 1, max: 5000 }),
        async (bursts, minLength) => {
          const file = join(dir, `log-${Math.random()}`);
          const fd = openSync(file, 'w');
          const sink = new LineSink(fd, { minLength, maxDelayMs: 5 });
          const lines: string[] = [];
          for (const burst of bursts) {
            for (const text of burst) {
              const line = `${JSON.stringify({ n: lines.length, text })}\n`;
              lines.push(line);
              expect(sink.write(line)).toBe(true);
            }
            await new Promise((r) => setImmediate(r));
          }
          await flushed(sink);
          closeSync(fd);
          expect(readFileSync(file, 'utf8')).toBe(lines.join(''));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('writes a lone line after the delay, without a flush', async () => {
    const file = join(dir, 'quiet');
    const fd = openSync(file, 'w');
    const sink = new LineSink(fd, { minLength: 4096, maxDelayMs: 20 });
    sink.write('one line\n');
    expect(readFileSync(file, 'utf8')).toBe('');
    await new Promise((r) => setTimeout(r, 150));
    expect(readFileSync(file, 'utf8')).toBe('one line\n');
    closeSync(fd);
  });

  it('flushSync writes what waits, at once', () => {
    const file = join(dir, 'sync');
    const fd = openSync(file, 'w');
    const sink = new LineSink(fd, { minLength: 1 << 20 });
    sink.write('a\n');
    sink.write('b\n');
    sink.flushSync();
    expect(readFileSync(file, 'utf8')).toBe('a\nb\n');
    closeSync(fd);
  });

  it('loses nothing through a pipe whose reader is slower than the writer', async () => {
    // 4 MiB through a pipe (64 KiB buffer): writes come back short and are continued.
    const child = spawn(
      process.execPath,
      [
        '-e',
        'let n=0;process.stdin.on("data",d=>{n+=d.length});process.stdin.on("end",()=>process.stdout.write(String(n)))',
      ],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    const fd = (child.stdin as unknown as { _handle: { fd: number } })._handle.fd;
    expect(fd).toBeGreaterThan(2);
    const sink = new LineSink(fd, { minLength: 64 * 1024 });
    const line = `${'x'.repeat(1023)}\n`;
    for (let i = 0; i < 4096; i++) sink.write(line);
    await flushed(sink);
    const out = new Promise<string>((resolve) => {
      let text = '';
      child.stdout.on('data', (d) => {
        text += d;
      });
      child.on('close', () => resolve(text));
    });
    child.stdin.end();
    expect(Number(await out)).toBe(4096 * 1024);
  });
});
