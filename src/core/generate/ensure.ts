/**
 * Generate-if-absent: the one behaviour of `coffer generate` and MCP `generate_secret` (and of
 * what comes later: setup, rotation) for a secret that may exist already in the vault, in a
 * .env file, or in both.
 *
 * | vault            | .env file (NAME)   | without force                         | with force          |
 * | ---------------- | ------------------ | ------------------------------------- | ------------------- |
 * | absent           | absent or empty    | generate; store; write the file       | the same            |
 * | absent           | W                  | keep W: store it (file unchanged)     | replace both        |
 * | V                | absent or empty    | keep V: write it into the file        | replace both        |
 * | V                | V                  | keep: nothing changes                 | replace both        |
 * | V                | W, W != V          | VALUE_CONFLICT (exit 5): nothing      | replace both        |
 * | deleted          | any                | SECRET_DELETED (exit 3): nothing      | new version (revives)|
 *
 * "Replace" warns (the caller says it): data encrypted or signed with the old value becomes
 * unreadable. Without a vault side (only a file) the file alone decides; without a file side
 * (MCP, `--store` alone) the vault alone decides, and an existing value is never decrypted.
 *
 * Values are compared in constant time for equal lengths and never enter a message: the
 * conflict names both sides by where they are (key path, environment, version; file name).
 * Writing the file is the caller's (it knows how; the value to write is returned).
 */
import { timingSafeEqual } from 'node:crypto';
import { CofferError } from '../errors.js';
import type { SecretMetadata } from '../store/storage.js';
import type { SecretInfo, SecretValue, SetResult } from '../store/vault.js';
import { generateSecret } from './generate.js';
import { formatGeneratorSpec, type GeneratorSpec } from './spec.js';

/** What generate-if-absent needs from a vault (the local one or a server). */
export interface GenerateVault {
  info(path: string, env: string): Promise<SecretInfo>;
  get(path: string, env: string): Promise<SecretValue>;
  set(
    path: string,
    env: string,
    value: string,
    options: {
      description?: string | undefined;
      metadata?: Partial<Omit<SecretMetadata, 'description'>> | undefined;
    },
  ): Promise<SetResult>;
}

export interface EnsureRequest {
  spec: GeneratorSpec;
  /** Replace whatever exists with a new value (and revive a deleted secret). */
  force?: boolean | undefined;
  /** The vault side: where the secret is stored. */
  store?:
    | {
        vault: GenerateVault;
        path: string;
        env: string;
        /** Needed when the secret is created. */
        description?: string | undefined;
        /** Stored with a new version (the generator spec is added). */
        metadata?: Partial<Omit<SecretMetadata, 'description' | 'generator'>> | undefined;
      }
    | undefined;
  /** The file side: the variable's current value in a .env file ('' or undefined: none). */
  file?: { name: string; variable: string; value: string | undefined } | undefined;
}

export interface EnsureResult {
  /** `kept`: an existing value stays (possibly copied to the other side). */
  action: 'generated' | 'replaced' | 'kept';
  /** Where the value both sides now hold came from. */
  source: 'generated' | 'vault' | 'file';
  /** The value (secret: the caller writes it into the file when `writeFile`, then drops it). */
  value: string;
  /** The vault's new version when this call stored one. */
  stored: SetResult | undefined;
  /** The vault's version holding the value (undefined without a vault side). */
  version: number | undefined;
  /** The generator spec of the vault's secret (the stored one when kept; may be null). */
  generator: string | null;
  /** The vault secret's env-var name from its metadata, when it has one. */
  envVar: string | null;
  /** True when the caller must write `value` into the file. */
  writeFile: boolean;
}

/** Equality of two secret strings, constant-time for equal lengths. */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  try {
    return x.length === y.length && timingSafeEqual(x, y);
  } finally {
    x.fill(0);
    y.fill(0);
  }
}

async function infoOf(
  vault: GenerateVault,
  path: string,
  env: string,
): Promise<SecretInfo | undefined> {
  try {
    return await vault.info(path, env);
  } catch (err) {
    if (err instanceof CofferError && err.code === 'SECRET_NOT_FOUND') return undefined;
    throw err;
  }
}

/** The refusal of a vault and a file that hold different values: nothing is changed. */
export function valueConflict(
  variable: string,
  path: string,
  env: string,
  version: number,
  file: string,
): CofferError {
  return new CofferError(
    'VALUE_CONFLICT',
    `${variable} differs between the vault (${path}, ${env}, version ${version}) and ${file}; nothing was changed`,
    {
      hint:
        `Find out which one is in use. To keep the vault's, remove ${variable} from ${file} and run again (or run \`coffer env pull\`); ` +
        `to keep the file's, store it with \`coffer set ${path} --env ${env}\` (value on stdin) and run again; ` +
        '--force replaces both with a new value, which makes data encrypted or signed with either old value unreadable.',
    },
  );
}

/**
 * Makes sure a generated secret exists where asked (vault, file or both), following the
 * table in the module header. Stores in the vault before the caller writes the file.
 *
 * @throws CofferError VALUE_CONFLICT (vault and file differ), SECRET_DELETED (deleted in the
 *   vault, without force), INVALID_DESCRIPTION (creating without a description), and
 *   anything the vault throws.
 */
export async function ensureGenerated(req: EnsureRequest): Promise<EnsureResult> {
  const generator = formatGeneratorSpec(req.spec);
  const force = req.force === true;
  const inFile =
    req.file?.value !== undefined && req.file.value !== '' ? req.file.value : undefined;
  const store = req.store;
  const info = store ? await infoOf(store.vault, store.path, store.env) : undefined;
  const live = info !== undefined && info.deletedAt === null ? info : undefined;
  if (store && info !== undefined && live === undefined && !force) {
    throw new CofferError('SECRET_DELETED', `${store.path} (${store.env}) was deleted`, {
      hint: `Bring it back with \`coffer restore ${store.path} --env ${store.env}\`, or pass --force to store a new value.`,
    });
  }
  const newValue = async (action: 'generated' | 'replaced'): Promise<EnsureResult> => {
    const value = generateSecret(req.spec);
    const stored = store
      ? await store.vault.set(store.path, store.env, value, {
          description: store.description,
          metadata: { ...store.metadata, generator },
        })
      : undefined;
    return {
      action,
      source: 'generated',
      value,
      stored,
      version: stored?.version,
      generator: store ? generator : null,
      envVar: store?.metadata?.envVar ?? null,
      writeFile: req.file !== undefined,
    };
  };
  if (force) return newValue(info !== undefined || inFile !== undefined ? 'replaced' : 'generated');

  if (live !== undefined && store) {
    if (req.file === undefined) {
      // The vault alone decides; the existing value is not even decrypted.
      return {
        action: 'kept',
        source: 'vault',
        value: '',
        stored: undefined,
        version: live.currentVersion,
        generator: live.generator,
        envVar: live.envVar,
        writeFile: false,
      };
    }
    const current = await store.vault.get(store.path, store.env);
    if (inFile !== undefined && !sameSecret(current.value, inFile)) {
      throw valueConflict(req.file.variable, store.path, store.env, current.version, req.file.name);
    }
    return {
      action: 'kept',
      source: 'vault',
      value: current.value,
      stored: undefined,
      version: current.version,
      generator: live.generator,
      envVar: live.envVar,
      writeFile: inFile === undefined,
    };
  }
  if (inFile !== undefined) {
    // The file's value is in use somewhere: keep it, and store it when a vault side is asked.
    const stored = store
      ? await store.vault.set(store.path, store.env, inFile, {
          description: store.description,
          metadata: { ...store.metadata, generator },
        })
      : undefined;
    return {
      action: 'kept',
      source: 'file',
      value: inFile,
      stored,
      version: stored?.version,
      generator: store ? generator : null,
      envVar: store?.metadata?.envVar ?? null,
      writeFile: false,
    };
  }
  return newValue('generated');
}
