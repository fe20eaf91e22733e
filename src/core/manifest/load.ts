/**
 * Finding and reading the manifest: the nearest `coffer.yaml` (or `coffer.yml`) in a
 * directory or one of its parents.
 */
import { lstatSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CofferError } from '../errors.js';
import { findProjectConfig } from '../project-file/find.js';
import { allowedEnvNamesFor } from '../project-file/settings.js';
import { readRegularFileLimited } from '../read-limited.js';
import { decodeUtf8 } from '../utf8.js';
import { type Manifest, type RotationHints, rotationHints } from './model.js';
import {
  MAX_MANIFEST_BYTES,
  ManifestError,
  type ManifestOptions,
  manifestAllowedNames,
  parseManifest,
} from './parse.js';

export const MANIFEST_NAMES: readonly string[] = ['coffer.yaml', 'coffer.yml'];

/**
 * Whether anything is at `file`: a link whose target is missing counts, so that a broken
 * coffer.yaml is reported instead of passed over for a parent directory's manifest (another
 * project's).
 */
function present(file: string): boolean {
  try {
    return lstatSync(file, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return false;
  }
}

/** The nearest manifest file from `start` upwards, or undefined. */
export function findManifestFile(start: string): string | undefined {
  let dir = start;
  for (;;) {
    for (const name of MANIFEST_NAMES) {
      const file = join(dir, name);
      if (present(file)) return file;
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * What this machine allows a manifest read from `start` (the working directory): the nearest
 * project file there (parse.ts applies its `allow_env_names` when it names the manifest's
 * project) and `flags` (`--allow-env-name`). A project file that cannot be read allows nothing.
 */
export function localManifestOptions(
  start: string,
  flags: readonly string[] = [],
): ManifestOptions {
  let projectFile: ManifestOptions['projectFile'];
  try {
    projectFile = findProjectConfig(start);
  } catch {
    projectFile = undefined;
  }
  return { projectFile, allowEnvNames: flags };
}

/**
 * Reads and validates a manifest file (INVALID_MANIFEST with file:line:col). `options`: what
 * this machine allows besides the manifest (default: the project file of its own directory).
 */
export function loadManifest(
  file: string,
  options: ManifestOptions = localManifestOptions(dirname(file)),
): Manifest {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    if (lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink() === true) {
      throw new CofferError('INVALID_ARGUMENT', `${file} is a link whose target does not exist`, {
        hint: 'Point the link at the manifest, or remove it (docs/manifest.md).',
      });
    }
    throw new CofferError('USAGE', `no manifest at ${file}`, {
      hint: 'Create one with `coffer manifest init` (docs/manifest.md).',
    });
  }
  if (size > MAX_MANIFEST_BYTES) {
    throw new ManifestError(file, [
      { file, line: 1, col: 1, message: `larger than ${MAX_MANIFEST_BYTES} bytes` },
    ]);
  }
  // Found, not named: a FIFO in its place is refused unread (nothing may ever write to it).
  const bytes = readRegularFileLimited(file, MAX_MANIFEST_BYTES, 'a manifest');
  if (bytes === undefined) {
    throw statSync(file).isDirectory()
      ? new CofferError('IO_ERROR', `${file} is a directory`)
      : new CofferError('INVALID_ARGUMENT', `${file} is not a regular file`, {
          hint: 'The manifest is a YAML file: put coffer.yaml in its place (docs/manifest.md).',
        });
  }
  return parseManifest(decodeUtf8(bytes, file), file, options);
}

/**
 * The nearest manifest from `start` (USAGE error when there is none), with what the project
 * file at `start` and `flags` (`--allow-env-name`) allow.
 */
export function loadNearestManifest(start: string, flags: readonly string[] = []): Manifest {
  const file = findManifestFile(start);
  if (file === undefined) {
    throw new CofferError('USAGE', 'no coffer.yaml in this directory or a parent', {
      hint: 'Create one with `coffer manifest init` (docs/manifest.md).',
    });
  }
  return loadManifest(file, localManifestOptions(start, flags));
}

/** A rotation's hints from the manifest, and the names this machine allows for its previous name. */
export interface ManifestRotationHints extends RotationHints {
  /**
   * What allows a previous name the injection rules refuse (core/rotation/previous-name.ts):
   * for a secret the manifest lists, the names its variables may use (parse.ts
   * manifestAllowedNames: the manifest's `allow_env_names`, the project file's for the same
   * project, `flags`), the list the manifest's `previous:` was accepted with; for any other
   * secret, the project file's for the secret's project and `flags`.
   */
  allowEnvNames: string[];
}

/**
 * The rotation hints the nearest manifest from `start` gives `path` in `env` (all null when
 * there is no manifest or it does not list the secret; an invalid manifest is an error), read
 * with the project file at `start` and `flags` (`--allow-env-name`).
 */
export function manifestRotationHints(
  start: string,
  path: string,
  env: string,
  flags: readonly string[] = [],
): ManifestRotationHints {
  const options = localManifestOptions(start, flags);
  const file = findManifestFile(start);
  const manifest = file === undefined ? undefined : loadManifest(file, options);
  const variable = manifest?.variables.find((v) => v.path === path);
  const allowEnvNames =
    manifest !== undefined && variable !== undefined
      ? manifestAllowedNames(manifest.allowEnvNames, manifest.project, options)
      : allowedEnvNamesFor(
          options.projectFile,
          /^project\/([^/]+)\//.exec(path)?.[1],
          options.allowEnvNames ?? [],
        );
  return { ...rotationHints(variable, env), allowEnvNames };
}
