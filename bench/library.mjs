/**
 * Library throughput: Vault.set and Vault.get on a SQLite vault, beside the floors they are
 * built on: raw node:crypto AES-256-GCM (seal + open of the same bytes, fresh random 12-byte
 * IV each time) and a raw better-sqlite3 INSERT + SELECT of the same bytes (own autocommit
 * transaction, WAL, synchronous=FULL, as the vault's connection uses).
 *
 * Each measurement runs for a fixed time budget; a vault operation is one write transaction
 * with its audit record and an fsync, so vault rates are bounded by the disk's fsync rate.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { loadCoffer, ROOT } from './env.mjs';
import { fmtBytes, fmtNum, fmtRate, fmtRatio, runForTime } from './stats.mjs';

export const name = 'library';
export const title = 'Library throughput (single process, one operation at a time)';

const SIZES = [32, 1024, 64 * 1024];
const DESCRIPTION = 'Bench value used to measure vault throughput';

/** An ASCII string of exactly `size` bytes (so its UTF-8 form is `size` bytes too). */
function randomValue(size) {
  return randomBytes(Math.ceil((size * 3) / 4) + 3)
    .toString('base64')
    .slice(0, size);
}

/**
 * The platform floor: AES-256-GCM seal + open with node:crypto alone, a fresh nonce each
 * time (`nonce` lets envelope.mjs draw it from a pool instead).
 */
export function rawCrypto(key, plaintext, nonce = () => randomBytes(12)) {
  const iv = nonce();
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const tag = cipher.getAuthTag();
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAuthTag(tag);
  const pt = Buffer.concat([decipher.update(ct), decipher.final()]);
  if (pt.length !== plaintext.length) throw new Error('raw AES-GCM round trip failed');
}

function openRawSqlite(file) {
  const Database = createRequire(join(ROOT, 'package.json'))('better-sqlite3');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE blobs (id INTEGER PRIMARY KEY, v BLOB NOT NULL) STRICT');
  const insert = db.prepare('INSERT INTO blobs (v) VALUES (?)');
  const select = db.prepare('SELECT v FROM blobs WHERE id = ?');
  return {
    op(bytes) {
      const { lastInsertRowid } = insert.run(bytes);
      if (select.get(lastInsertRowid).v.length !== bytes.length) throw new Error('raw SQLite');
    },
    close: () => db.close(),
  };
}

export async function run(ctx) {
  const { Vault, initVault, openSqliteStorage } = await loadCoffer();
  const dir = ctx.scratch.sub('library');
  const budget = ctx.quick ? 250 : 1500;

  const masterKey = new Uint8Array(randomBytes(32));
  const storage = openSqliteStorage(join(dir, 'vault.db'), { create: true });
  await initVault(storage, { masterKey, keySource: 'key', actor: 'bench:init' });
  const vault = new Vault(storage, masterKey, { actor: 'bench:library' });
  const raw = openRawSqlite(join(dir, 'raw.db'));
  const aesKey = randomBytes(32);

  const rows = [];
  try {
    for (const size of SIZES) {
      const value = randomValue(size);
      const bytes = Buffer.from(value, 'utf8');
      const path = `project/bench/value_${size}`;
      await vault.set(path, 'dev', value, { description: DESCRIPTION });
      const check = await vault.get(path, 'dev');
      if (check.value !== value) throw new Error(`vault round trip failed at ${size} B`);

      ctx.log(`library: ${fmtBytes(size)}`);
      const aes = await runForTime(budget, () => rawCrypto(aesKey, bytes));
      const sqlite = await runForTime(budget, () => raw.op(bytes));
      const set = await runForTime(budget, () => vault.set(path, 'dev', value));
      const get = await runForTime(budget, () => vault.get(path, 'dev'));

      const row = (label, r) => [
        fmtBytes(size),
        label,
        fmtNum(r.ops),
        fmtRate(r.perSec),
        fmtRate(r.usPerOp),
        fmtRatio(r.usPerOp / aes.usPerOp),
        fmtRatio(r.usPerOp / sqlite.usPerOp),
      ];
      rows.push(
        row('raw AES-256-GCM seal+open', aes),
        row('raw SQLite INSERT+SELECT', sqlite),
        row('vault.set', set),
        row('vault.get', get),
      );
    }
  } finally {
    vault.close();
    await storage.close();
    raw.close();
  }

  return {
    title,
    columns: [
      { header: 'size', align: 'right' },
      { header: 'operation', align: 'left' },
      { header: 'ops', align: 'right' },
      { header: 'ops/s', align: 'right' },
      { header: 'us/op', align: 'right' },
      { header: 'time vs crypto', align: 'right' },
      { header: 'time vs SQLite', align: 'right' },
    ],
    rows,
    notes: [
      `Each row runs for ${budget} ms. "time vs X" = us/op of the row / us/op of raw X (lower is better).`,
      'vault.set / vault.get: one BEGIN IMMEDIATE write transaction each (get writes its audit',
      'record too), 2 AES-GCM operations (data key + value), SHA-256 audit chain, fsync at COMMIT.',
      'raw SQLite: autocommit INSERT (one fsync, WAL, synchronous=FULL) + SELECT by rowid.',
    ],
  };
}
