/**
 * Backup and restore of a vault with N secret versions (100,000; 10,000 with --quick):
 * `createBackup` (one read-transaction snapshot, encoding, age encryption to a passphrase at
 * the default work factor) and the restore of that file into a new vault file (age
 * decryption, decoding, the full check in an in-memory store: every value opened, every row
 * MAC and the audit chain, then the copy and the restore's audit record). The restored vault
 * is checked: its counts match and a sample of values reads back.
 */
import { randomBytes } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { loadCoffer } from './env.mjs';
import { fmtNum, fmtRate, fmtSec } from './stats.mjs';
import { expectedValue, populateVersions, VERSIONS_PER_SECRET } from './versions.mjs';

export const name = 'backup';
export const title = 'Backup and restore (coffer backup / backup restore, library calls)';

const BACKUP_TARGET_MS = 10_000;
const RESTORE_TARGET_MS = 20_000;
const PASSPHRASE = 'bench backup passphrase, long enough';
const DESCRIPTION = 'Service credential for the backup bench';

/**
 * A vault as `count` audited writes would leave it (versions.mjs), each version with its own
 * `set` audit record in the transaction's batch (the vault MACs its rows), so the backup
 * carries as many audit records as versions.
 */
export function populate(lib, vault, count) {
  return populateVersions(lib, count, DESCRIPTION, (fill, secrets) =>
    vault.auditedTransaction('bench.populate', async (tx, keyring) => {
      const slots = await fill(tx, await keyring.primary(tx));
      const audit = slots.map((slot) => ({ action: 'set', ...slot, outcome: 'ok', detail: null }));
      return { result: undefined, detail: `${secrets} secrets`, audit };
    }),
  );
}

/** CPU time of this process (user + system), in ms: the share of a loaded machine it got. */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

export async function run(ctx) {
  const lib = await loadCoffer(undefined, [
    'Vault',
    'initVault',
    'openSqliteStorage',
    'Keyring',
    'sealSecret',
    'createBackup',
    'decryptBackup',
    'decodeSnapshot',
    'restoreSnapshot',
  ]);
  const { Vault, initVault, openSqliteStorage } = lib;
  const count = ctx.quick ? 10_000 : 100_000;
  const dir = ctx.scratch.sub('backup');
  const masterKey = new Uint8Array(randomBytes(32));
  const source = openSqliteStorage(join(dir, 'vault.db'), { create: true });
  const target = openSqliteStorage(join(dir, 'restored.db'), { create: true });
  const rows = [];
  const notes = [];
  let vault;
  try {
    await initVault(source, { masterKey, keySource: 'key', actor: 'bench:init' });
    ctx.log(`backup: populating ${fmtNum(count)} versions`);
    vault = new Vault(source, masterKey, { actor: 'bench:backup' });
    const pop = await populate(lib, vault, count);

    ctx.log('backup: createBackup');
    let t0 = performance.now();
    let c0 = cpuMs();
    const backup = await lib.createBackup(vault, { encryption: { passphrase: PASSPHRASE } });
    const file = join(dir, 'vault.age');
    writeFileSync(file, backup.file, { mode: 0o600 });
    const backupMs = performance.now() - t0;
    const backupCpu = cpuMs() - c0;
    if (backup.header.counts.versions !== count) {
      throw new Error(`backup holds ${backup.header.counts.versions} versions, wanted ${count}`);
    }

    ctx.log('backup: restore into a new vault file');
    t0 = performance.now();
    c0 = cpuMs();
    const bytes = new Uint8Array(await readFile(file));
    const plain = await lib.decryptBackup(bytes, { passphrase: PASSPHRASE });
    const decryptMs = performance.now() - t0;
    const snapshot = lib.decodeSnapshot(plain);
    const decodeMs = performance.now() - t0 - decryptMs;
    const restored = await lib.restoreSnapshot(snapshot, masterKey, target, {
      actor: 'bench:restore',
      target: 'restored.db',
    });
    const restoreMs = performance.now() - t0;
    const restoreCpu = cpuMs() - c0;
    if (!restored.check.ok || restored.check.checked !== count) {
      throw new Error(`restore check: ${JSON.stringify(restored.check).slice(0, 300)}`);
    }
    const check = new Vault(target, masterKey, { actor: 'bench:check' });
    try {
      for (let k = 0; k < 20; k++) {
        const i = Math.floor(Math.random() * pop.secrets);
        const path = `project/rot${Math.floor(i / 1000)}/svc_${String(i).padStart(6, '0')}`;
        const got = await check.get(path, 'prod', { version: 1 });
        if (got.value !== expectedValue(i, 1)) throw new Error(`${path} reads back wrong`);
      }
    } finally {
      check.close();
    }
    const mb = statSync(file).size / 1e6;
    rows.push(
      [
        'backup: snapshot + encode + age (scrypt 2^18) + write',
        fmtNum(count),
        fmtSec(backupMs),
        fmtSec(backupCpu),
        `${fmtRate((count * 1000) / backupMs)} versions/s`,
        `< ${BACKUP_TARGET_MS / 1000} s: ${backupMs < BACKUP_TARGET_MS ? 'met' : 'NOT met'}`,
      ],
      [
        'restore: age + decode + copy + full check + audit',
        fmtNum(count),
        fmtSec(restoreMs),
        fmtSec(restoreCpu),
        `${fmtRate((count * 1000) / restoreMs)} versions/s`,
        `< ${RESTORE_TARGET_MS / 1000} s: ${restoreMs < RESTORE_TARGET_MS ? 'met' : 'NOT met'}`,
      ],
    );
    notes.push(
      `${fmtNum(pop.secrets)} secrets x ${VERSIONS_PER_SECRET} versions, values ~48 B, one audit record per version; backup file ${mb.toFixed(1)} MB.`,
      `machine load (1-minute average) at the end: ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores: wall time is what this process got of it.`,
      'cpu: user + system time of this process; on a machine shared with other work it is the time the phase needs, the wall time what it got.',
      `restore phases: age decrypt (incl. scrypt 2^18) ${fmtSec(decryptMs)}, decode ${fmtSec(decodeMs)}, copy + check + audit ${fmtSec(restoreMs - decryptMs - decodeMs)}.`,
    );
  } finally {
    vault?.close();
    await target.close();
    await source.close();
  }
  return {
    title,
    columns: [
      { header: 'phase', align: 'left' },
      { header: 'versions', align: 'right' },
      { header: 'time', align: 'right' },
      { header: 'cpu', align: 'right' },
      { header: 'rate', align: 'right' },
      { header: 'target', align: 'left' },
    ],
    rows,
    notes,
  };
}
