/**
 * The manifests (coffer.yaml) whose status the web UI shows: the files `coffer serve
 * --manifest` names, or the one `coffer ui` finds from its working directory. Each is read
 * again when it changes on disk (size and modification time), so an edited manifest shows
 * at once; one that does not parse shows its error instead.
 */
import { statSync } from 'node:fs';
import { CofferError } from '../../core/errors.js';
import { loadManifest } from '../../core/manifest/load.js';
import type { Manifest } from '../../core/manifest/model.js';

export type ManifestEntry =
  | { file: string; manifest: Manifest; error?: undefined }
  | { file: string; manifest?: undefined; error: string };

export class ManifestFiles {
  readonly #files: readonly string[];
  readonly #cache = new Map<string, { stamp: string; entry: ManifestEntry }>();

  constructor(files: readonly string[]) {
    this.#files = files;
  }

  /** The manifest of `project/P` (the first file whose project is P), if any. */
  forProject(prefix: string): ManifestEntry | undefined {
    if (!prefix.startsWith('project/')) return undefined;
    const project = prefix.slice('project/'.length);
    for (const file of this.#files) {
      const entry = this.#read(file);
      if (entry?.manifest?.project === project) return entry;
    }
    return undefined;
  }

  #read(file: string): ManifestEntry | undefined {
    let stamp: string;
    try {
      const st = statSync(file);
      stamp = `${st.size}:${st.mtimeMs}`;
    } catch {
      return undefined;
    }
    const hit = this.#cache.get(file);
    if (hit?.stamp === stamp) return hit.entry;
    let entry: ManifestEntry;
    try {
      entry = { file, manifest: loadManifest(file) };
    } catch (err) {
      entry = {
        file,
        error: err instanceof CofferError ? err.message : 'the file could not be read',
      };
    }
    this.#cache.set(file, { stamp, entry });
    return entry;
  }
}
