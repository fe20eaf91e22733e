/**
 * A token as an earlier coffer could store it: path globs without the limits new tokens have
 * (any number, any length), written through the vault's own authenticated transaction, so
 * its row MAC is valid and only its globs tell it apart.
 */
import { randomBytes } from 'node:crypto';
import type { TokenCapability } from '../../src/core/store/storage.js';
import type { Vault } from '../../src/core/store/vault.js';

export interface OlderToken {
  name: string;
  allow: readonly string[];
  caps?: TokenCapability[];
  createdAt?: string;
  expiresAt?: string | null;
  revokedAt?: string | null;
}

let lastCreated = 0;

/**
 * Tokens are listed by creation time, then name. Without a `createdAt`, a token is stored a
 * millisecond after anything made before the call and after the helper's previous token, so
 * listings keep the order the test stored them in even when two land in the same millisecond.
 */
function nextCreatedAt(): string {
  lastCreated = Math.max(Date.now() + 1, lastCreated + 1);
  return new Date(lastCreated).toISOString();
}

export async function insertOlderToken(vault: Vault, token: OlderToken): Promise<void> {
  await vault.auditedTransaction('token_create', async (tx) => {
    await tx.insertToken({
      id: randomBytes(8).toString('hex'),
      name: token.name,
      hash: randomBytes(32).toString('hex'),
      allow: [...token.allow],
      envs: [],
      caps: token.caps ?? ['read'],
      createdAt: token.createdAt ?? nextCreatedAt(),
      expiresAt: token.expiresAt ?? null,
      revokedAt: token.revokedAt ?? null,
    });
    return { result: undefined, detail: token.name };
  });
}
