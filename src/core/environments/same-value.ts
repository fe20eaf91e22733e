/**
 * Which secrets hold the same value in two environments (seed 004: production should not use
 * development's secrets), for a page that shows names only. Values are compared by keyed
 * digests (HMAC-SHA256 under a random key made for this object and never stored), computed
 * inside the vault (`Vault.valueDigests`: the plaintexts never leave it) and kept by path,
 * environment and version: a version is read once, after that a comparison is a lookup.
 * Digests are compared in constant time.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

export interface VersionRef {
  path: string;
  env: string;
  version: number;
}

/** What comparing needs from a vault: `Vault.valueDigests`. */
export interface DigestSource {
  valueDigests(scope: string, items: readonly VersionRef[], key: Uint8Array): Promise<Buffer[]>;
}

/** Most digests kept; past it the cache starts again (each entry is about 100 bytes). */
const MAX_DIGESTS = 200_000;

const keyOf = (v: VersionRef) => `${v.path}\u0000${v.env}\u0000${v.version}`;

export class SameValueCheck {
  readonly #key = randomBytes(32);
  readonly #digests = new Map<string, Buffer>();

  /**
   * The paths of `pairs` (two versions of one secret under `scope`) whose values are equal.
   * Reads (one audited `compare` transaction) only the versions not digested before.
   */
  async same(
    source: DigestSource,
    scope: string,
    pairs: readonly { path: string; a: VersionRef; b: VersionRef }[],
  ): Promise<Set<string>> {
    const wanted: VersionRef[] = [];
    const seen = new Set<string>();
    for (const p of pairs) {
      for (const v of [p.a, p.b]) {
        const k = keyOf(v);
        if (!this.#digests.has(k) && !seen.has(k)) {
          seen.add(k);
          wanted.push(v);
        }
      }
    }
    if (wanted.length > 0) {
      if (this.#digests.size + wanted.length > MAX_DIGESTS) this.#digests.clear();
      const digests = await source.valueDigests(scope, wanted, this.#key);
      for (const [i, v] of wanted.entries()) this.#digests.set(keyOf(v), digests[i]!);
    }
    const out = new Set<string>();
    for (const p of pairs) {
      const a = this.#digests.get(keyOf(p.a));
      const b = this.#digests.get(keyOf(p.b));
      if (a !== undefined && b !== undefined && timingSafeEqual(a, b)) out.add(p.path);
    }
    return out;
  }
}
