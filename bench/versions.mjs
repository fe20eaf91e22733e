/**
 * A vault of many secret versions, built through the library's own pieces in a few large
 * transactions instead of N audited `vault.set` calls: each value sealed with `sealSecret`
 * under the primary KEK (as Vault.set seals it), its rows inserted with `tx.insertVersion` /
 * `tx.insertSecret`. The values are deterministic (`expectedValue`), so a bench can check
 * what it reads back. Used by the key rotation and backup sections.
 */

export const VERSIONS_PER_SECRET = 4;
export const SECRETS_PER_TX = 5000;

export const pathOf = (i) => `project/rot${Math.floor(i / 1000)}/svc_${String(i).padStart(6, '0')}`;

/** The value of a secret version: deterministic, so reads can be checked; about 48 bytes. */
export const expectedValue = (i, version) =>
  `v${version}-${String(i).padStart(6, '0')}-bench-secret-value-0123456789`;

/**
 * Inserts `count` versions in env `prod`: count / VERSIONS_PER_SECRET secrets of
 * VERSIONS_PER_SECRET versions each, SECRETS_PER_TX secrets a transaction. `transaction(fill,
 * secrets)` opens one write transaction of the caller's kind and calls `fill(tx, kek)` in it,
 * which inserts that transaction's rows and returns their slots (`{ path, env, version }`).
 * Returns how many versions and secrets were inserted and the time spent sealing.
 */
export async function populateVersions(lib, count, description, transaction) {
  const secrets = Math.ceil(count / VERSIONS_PER_SECRET);
  const stats = { inserted: 0, secrets, sealMs: 0 };
  for (let first = 0; first < secrets; first += SECRETS_PER_TX) {
    const last = Math.min(secrets, first + SECRETS_PER_TX);
    const fill = async (tx, kek) => {
      const ts = new Date().toISOString();
      const slots = [];
      for (let i = first; i < last; i++) {
        const path = pathOf(i);
        const versions = Math.min(VERSIONS_PER_SECRET, count - i * VERSIONS_PER_SECRET);
        for (let version = 1; version <= versions; version++) {
          const slot = { path, env: 'prod', version };
          const t0 = performance.now();
          const sealed = lib.sealSecret(
            kek.key,
            kek.id,
            Buffer.from(expectedValue(i, version)),
            slot,
          );
          stats.sealMs += performance.now() - t0;
          await tx.insertVersion({
            ...slot,
            kekId: kek.id,
            wrappedDek: sealed.wrappedDek,
            ciphertext: sealed.ciphertext,
            createdAt: ts,
            actor: 'bench:populate',
          });
          slots.push(slot);
          stats.inserted++;
        }
        await tx.insertSecret({
          path,
          env: 'prod',
          description,
          currentVersion: versions,
          tier: null,
          rotation: null,
          envVar: null,
          localOnly: false,
          generator: null,
          createdAt: ts,
          updatedAt: ts,
          deletedAt: null,
        });
      }
      return slots;
    };
    await transaction(fill, last - first);
  }
  return stats;
}
