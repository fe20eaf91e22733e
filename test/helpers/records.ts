/** Stored rows as the storage layer sees them, for tests of the storages themselves. */
import type { SecretRecord } from '../../src/core/store/storage.js';

const T0 = '2025-01-01T00:00:00.000Z';

/** A `secrets` row with every column set (no MAC), `over` replacing any of them. */
export function secretRecord(
  path: string,
  env: string,
  over: Partial<SecretRecord> = {},
): SecretRecord {
  return {
    path,
    env,
    description: `Test secret ${path} (${env})`,
    currentVersion: 1,
    tier: null,
    rotation: null,
    envVar: null,
    localOnly: false,
    generator: null,
    createdAt: T0,
    updatedAt: T0,
    deletedAt: null,
    mac: null,
    ...over,
  };
}
