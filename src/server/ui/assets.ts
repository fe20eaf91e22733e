/**
 * The web UI's two static files: the script (src/server/ui/client/app.ts, bundled by
 * scripts/build.mjs into dist/ui/app.js) and the stylesheet (app.css, copied minified into
 * dist/ui/). Read from beside the bundle (dist/), or, when the server runs from source (tests),
 * the stylesheet from here and the script from dist/ at the repository's root. Read once, kept in memory.
 */
import { readFileSync } from 'node:fs';

export interface Asset {
  body: string;
  type: string;
}

const TYPES: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

const cache = new Map<string, Asset | null>();

function firstReadable(urls: URL[]): string | undefined {
  for (const url of urls) {
    try {
      return readFileSync(url, 'utf8');
    } catch {
      // try the next place
    }
  }
  return undefined;
}

/** `app.js` or `app.css`; undefined when missing (a source checkout not built yet). */
export function uiAsset(name: string): Asset | undefined {
  const type = TYPES[name];
  if (type === undefined) return undefined;
  let asset = cache.get(name);
  if (asset === undefined) {
    const here = import.meta.url;
    const body = firstReadable([
      new URL(`./ui/${name}`, here),
      new URL(`./${name}`, here),
      new URL(`../../../dist/ui/${name}`, here),
    ]);
    asset = body === undefined ? null : { body, type };
    cache.set(name, asset);
  }
  return asset ?? undefined;
}
