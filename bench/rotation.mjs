/**
 * Key rotation: `rotateKeys(vault)` over N secret versions (100,000; 10,000 with --quick).
 *
 * The vault is populated through the library's own pieces, not N audited `vault.set` calls
 * (versions.mjs): values sealed with `sealSecret` under the primary KEK (as Vault.set does),
 * rows inserted in a few large write transactions.
 * After the rotation a sample of values is read back through `vault.get` and `keyStatus`
 * must show every data key on the new KEK and the old one retired.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { loadCoffer } from './env.mjs';
import { fmtMs, fmtNum, fmtRate, fmtSec, median } from './stats.mjs';
import {
  expectedValue,
  pathOf,
  populateVersions,
  SECRETS_PER_TX,
  VERSIONS_PER_SECRET,
} from './versions.mjs';

export const name = 'rotation';
export const title = 'Key rotation (re-wrap every data key to a new KEK)';

const TARGET_MS = 5000;
const DESCRIPTION = 'Service credential for the key rotation bench';

/** Inserts `count` versions (versions.mjs) in write transactions of the storage itself. */
export async function populate(lib, storage, masterKey, count) {
  const keyring = new lib.Keyring(masterKey);
  try {
    return await populateVersions(lib, count, DESCRIPTION, (fill) =>
      storage.transaction('write', async (raw) => {
        await keyring.unlock(raw);
        // Rows carry their MACs where the library has them, as the vault's own writes do.
        const tx = lib.AuthenticatedTx ? new lib.AuthenticatedTx(raw, keyring.rowMacKey()) : raw;
        await fill(tx, await keyring.primary(tx));
      }),
    );
  } finally {
    keyring.close();
  }
}

/** Times the pure crypto of a re-wrap (unwrap + wrap) on `n` fresh data keys. */
function rewrapCryptoUs(lib, n) {
  const { rewrapDataKey, wrapDataKey, generateDataKey } = lib;
  const from = { id: 'k1', kek: new Uint8Array(randomBytes(32)) };
  const to = { id: 'k2', kek: new Uint8Array(randomBytes(32)) };
  const items = [];
  for (let i = 0; i < n; i++) {
    const slot = { path: pathOf(i), env: 'prod', version: 1 };
    items.push({ slot, wrapped: wrapDataKey(from.kek, from.id, generateDataKey(), slot) });
  }
  const t0 = performance.now();
  for (const { slot, wrapped } of items) rewrapDataKey(from, to, wrapped, slot);
  return ((performance.now() - t0) * 1000) / n;
}

export async function run(ctx) {
  const lib = await loadCoffer();
  const { Vault, initVault, openSqliteStorage, rotateKeys, keyStatus } = lib;
  const count = ctx.quick ? 10_000 : 100_000;
  const dir = ctx.scratch.sub('rotation');
  const masterKey = new Uint8Array(randomBytes(32));
  const storage = openSqliteStorage(join(dir, 'vault.db'), { create: true });
  const rows = [];
  const notes = [];
  let vault;
  try {
    const { kekId: oldKek } = await initVault(storage, {
      masterKey,
      keySource: 'key',
      actor: 'bench:init',
    });

    ctx.log(`rotation: populating ${fmtNum(count)} versions`);
    let t0 = performance.now();
    const pop = await populate(lib, storage, masterKey, count);
    const populateMs = performance.now() - t0;
    if (pop.inserted !== count) throw new Error(`populated ${pop.inserted}, wanted ${count}`);

    vault = new Vault(storage, masterKey, { actor: 'bench:rotation' });
    const before = await keyStatus(vault);
    const onOld = before.keys.find((k) => k.id === oldKek)?.wrappedKeys;
    if (onOld !== count) throw new Error(`expected ${count} data keys on ${oldKek}, got ${onOld}`);

    ctx.log(`rotation: rotateKeys over ${fmtNum(count)} data keys`);
    const batchTimes = [];
    let last = 0;
    t0 = performance.now();
    const result = await rotateKeys(vault, {
      onProgress: ({ done }) => {
        const now = performance.now();
        if (done > 0) batchTimes.push(now - last);
        last = now;
      },
    });
    const rotateMs = performance.now() - t0;
    if (result.rewrapped !== count) {
      throw new Error(`rotateKeys re-wrapped ${result.rewrapped}, expected ${count}`);
    }

    // Verification: every data key on the new KEK, the old one retired, values still open.
    const after = await keyStatus(vault);
    const newKey = after.keys.find((k) => k.id === result.newKey);
    const old = after.keys.find((k) => k.id === oldKek);
    if (after.primary !== result.newKey || newKey?.wrappedKeys !== count) {
      throw new Error(`keyStatus: ${JSON.stringify(after)}`);
    }
    if (old?.status !== 'retired' || old.wrappedKeys !== 0 || after.rotationInProgress) {
      throw new Error(`keyStatus after rotation: old key ${JSON.stringify(old)}`);
    }
    const sample = ctx.quick ? 50 : 200;
    t0 = performance.now();
    for (let k = 0; k < sample; k++) {
      const i = Math.floor(Math.random() * pop.secrets);
      const versions = Math.min(VERSIONS_PER_SECRET, count - i * VERSIONS_PER_SECRET);
      const version = 1 + (k % versions);
      const got = await vault.get(pathOf(i), 'prod', { version });
      if (got.value !== expectedValue(i, version))
        throw new Error(`${pathOf(i)} v${version} differs`);
    }
    const verifyMs = performance.now() - t0;

    const batches = batchTimes.length;
    const cryptoUs = rewrapCryptoUs(lib, Math.min(count, 10_000));
    const cryptoMs = (cryptoUs * count) / 1000;
    // rotateKeys pauses 5 ms (its default) after every full batch of 2000.
    const pauses = Math.floor(count / 2000);
    const pauseMs = pauses * 5;

    rows.push(
      [
        'populate (sealSecret + batched INSERT)',
        fmtNum(count),
        fmtSec(populateMs),
        `${fmtRate((count * 1000) / populateMs)} versions/s`,
        '',
      ],
      [
        'rotateKeys(vault)',
        fmtNum(count),
        fmtSec(rotateMs),
        `${fmtRate((count * 1000) / rotateMs)} data keys/s`,
        `< ${TARGET_MS / 1000} s: ${rotateMs < TARGET_MS ? 'met' : 'NOT met'}`,
      ],
      [
        `verify: ${sample} x vault.get after rotation`,
        fmtNum(sample),
        fmtSec(verifyMs),
        `${fmtRate((sample * 1000) / verifyMs)} gets/s`,
        'values ok',
      ],
    );
    notes.push(
      `${fmtNum(pop.secrets)} secrets x ${VERSIONS_PER_SECRET} versions, values ~48 B; populate: ${fmtNum(SECRETS_PER_TX * VERSIONS_PER_SECRET)} versions per transaction, of which sealSecret ${fmtSec(pop.sealMs)}.`,
      `rotateKeys: ${batches} batches of <= 2000 (default); per batch incl. pause: median ${fmtMs(median(batchTimes))} ms, max ${fmtMs(Math.max(...batchTimes))} ms;`,
      `  pauses between batches ${fmtNum(pauseMs)} ms (${pauses} x 5 ms default);` +
        ` re-wrap crypto alone ~${fmtSec(cryptoMs)} (${fmtNum(cryptoUs, 1)} us/key, measured apart).`,
      `keyStatus after: ${fmtNum(newKey.wrappedKeys)} data keys on ${result.newKey} (primary), ${oldKek} retired with 0.`,
    );
  } finally {
    vault?.close();
    await storage.close();
  }
  return {
    title,
    columns: [
      { header: 'phase', align: 'left' },
      { header: 'items', align: 'right' },
      { header: 'time', align: 'right' },
      { header: 'rate', align: 'right' },
      { header: 'target / check', align: 'left' },
    ],
    rows,
    notes,
  };
}
