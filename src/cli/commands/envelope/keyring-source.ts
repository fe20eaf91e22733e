/**
 * The keyring of a `coffer envelope` command: from a vault secret (`--keys-from PATH`, read
 * through the local vault or the server in remote mode, so the read is audited) or from the
 * environment (COFFER_DATA_KEYS, WORKFLOWS_ARTIFACT_ENC_KEY, CONNECTOR_SECRET_KEY). Key
 * material never comes from argv.
 */
import { keyringFromEnv, keyringFromVault } from '../../../core/envelope/env-keyring.js';
import type { DataKeyring } from '../../../core/envelope/keyring.js';
import { projectOfPath } from '../../../core/project-file/index.js';
import type { CommonOptions } from '../../action.js';
import { envOf, type GlobalOptions, withService } from '../../context.js';
import { warn } from '../../output.js';

export interface KeyCliOptions extends CommonOptions {
  keysFrom?: string;
  legacySha256?: boolean;
  allowPlaintext?: boolean;
}

export async function loadKeyring(opts: KeyCliOptions, g: GlobalOptions): Promise<DataKeyring> {
  const options = { warn: (message: string) => warn(message.replace(/^coffer\/envelope: /, '')) };
  if (opts.keysFrom !== undefined) {
    const path = opts.keysFrom;
    return withService(g, (backend) =>
      keyringFromVault({ get: (p, e) => backend.get(p, e, {}) }, path, {
        ...options,
        env: envOf(opts, projectOfPath(path)),
      }),
    );
  }
  return keyringFromEnv(process.env, {
    ...options,
    connectorKeyDerivation: opts.legacySha256 ? 'sha256' : 'hkdf-sha256',
  });
}
