/**
 * Builds the stored-value matcher from a vault: what the scanner needs from it is two
 * read-only calls, listing (metadata) and reading many values in one audited batch (each read
 * gets its own audit record). The current version of every live secret is read, and the
 * version before it (a value rotated recently may still sit in a file or a commit).
 * Plaintext lives only while the matcher is built (see stored-values.ts).
 */
import type { SecretsService } from '../service/secrets-service.js';
import type { ReadRequest } from '../store/vault.js';
import { MIN_STORED_VALUE_LENGTH, type StoredValue, StoredValueMatcher } from './stored-values.js';

/** The read-only operations the scanner uses (of a local vault or a server). */
export type VaultValueReader = Pick<SecretsService, 'list' | 'getMany'>;

/** A matcher for the vault's current and previous values (every environment). */
export async function storedValueMatcher(reader: VaultValueReader): Promise<StoredValueMatcher> {
  const items = await reader.list({});
  const requests: ReadRequest[] = [];
  for (const s of items) {
    requests.push({ path: s.path, env: s.env, version: s.currentVersion });
    if (s.currentVersion > 1) {
      requests.push({ path: s.path, env: s.env, version: s.currentVersion - 1 });
    }
  }
  if (requests.length === 0) return new StoredValueMatcher([]);
  const outcomes = await reader.getMany(requests);
  const values: StoredValue[] = [];
  for (const o of outcomes) {
    if (o.ok && o.value.value.length >= MIN_STORED_VALUE_LENGTH) {
      values.push({ path: o.value.path, env: o.value.env, value: o.value.value });
    }
  }
  const matcher = new StoredValueMatcher(values);
  values.length = 0;
  return matcher;
}
