import { type fdatasync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CofferError } from '../../core/errors.js';
import { WalSync } from './wal-sync.js';

type Callback = (err: NodeJS.ErrnoException | null) => void;

/** An fdatasync whose calls wait until the test lets them finish, one by one. */
function manualSync() {
  const pending: Callback[] = [];
  const datasync = ((_fd: number, cb: Callback) => {
    pending.push(cb);
  }) as unknown as typeof fdatasync;
  return {
    datasync,
    pending,
    finish(err: NodeJS.ErrnoException | null = null) {
      const cb = pending.shift();
      if (cb === undefined) throw new Error('no fsync is running');
      cb(err);
    },
  };
}

const turn = () => new Promise((r) => setImmediate(r));

let dir: string;
let file: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'coffer-walsync-'));
  file = join(dir, 'vault.db-wal');
  writeFileSync(file, 'wal');
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('WalSync', () => {
  it('syncs the real file through node:fs', async () => {
    const sync = new WalSync(file);
    await sync.barrier();
    await sync.barrier();
    expect(sync.syncs).toBe(2);
    await sync.close();
  });

  it('barriers asked while an fsync runs share the next one, which starts after it', async () => {
    const m = manualSync();
    const sync = new WalSync(file, 10, m.datasync);
    const settled: string[] = [];
    const first = sync.barrier().then(() => settled.push('first'));
    expect(m.pending).toHaveLength(1);
    // Committed while the first fsync runs: the first one may not cover them.
    const second = sync.barrier().then(() => settled.push('second'));
    const third = sync.barrier().then(() => settled.push('third'));
    await turn();
    expect(m.pending).toHaveLength(1);
    m.finish();
    await first;
    await turn();
    expect(settled).toEqual(['first']);
    expect(m.pending).toHaveLength(1);
    m.finish();
    await Promise.all([second, third]);
    expect(settled).toEqual(['first', 'second', 'third']);
    expect(sync.syncs).toBe(2);
    await sync.close();
  });

  it('soon() starts one fsync within flushMs however often it is called', async () => {
    const m = manualSync();
    const sync = new WalSync(file, 5, m.datasync);
    for (let i = 0; i < 100; i++) sync.soon();
    expect(m.pending).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 30));
    expect(m.pending).toHaveLength(1);
    m.finish();
    await turn();
    expect(sync.syncs).toBe(1);
    await sync.close();
  });

  it('close() flushes a pending soon() at once', async () => {
    const sync = new WalSync(file, 60_000);
    sync.soon();
    expect(sync.syncs).toBe(0);
    await sync.close();
    expect(sync.syncs).toBe(1);
  });

  it('a failed fsync fails its waiters and every later barrier, and is not retried', async () => {
    const m = manualSync();
    const sync = new WalSync(file, 10, m.datasync);
    const first = sync.barrier();
    const queued = sync.barrier();
    m.finish(Object.assign(new Error('disk gone'), { code: 'EIO' }));
    const err = await first.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CofferError);
    expect((err as CofferError).code).toBe('IO_ERROR');
    expect((err as CofferError).message).toContain('EIO');
    await expect(queued).rejects.toBe(err);
    await expect(sync.barrier()).rejects.toBe(err);
    expect(sync.failure).toBe(err);
    sync.soon();
    await turn();
    expect(m.pending).toHaveLength(0);
    expect(sync.syncs).toBe(1);
    await sync.close();
  });

  it('a WAL file that cannot be opened is an IO_ERROR naming the file', async () => {
    const sync = new WalSync(join(dir, 'missing-wal'));
    const err = await sync.barrier().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CofferError);
    expect((err as CofferError).message).toContain('missing-wal');
    expect((err as CofferError).message).toContain('ENOENT');
    await sync.close();
  });
});
