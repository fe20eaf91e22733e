// Writes docs/coffer.schema.json, the JSON Schema of coffer.yaml, from the zod schemas in
// src/core/manifest/schema.ts (bundled on the fly). src/core/manifest/schema.test.ts checks
// that the committed file is what this script writes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const dir = mkdtempSync(join(tmpdir(), 'coffer-schema-'));
try {
  const out = join(dir, 'schema.mjs');
  await build({
    entryPoints: ['src/core/manifest/schema.ts'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: out,
    logLevel: 'warning',
  });
  const { manifestJsonSchema } = await import(pathToFileURL(out).href);
  writeFileSync('docs/coffer.schema.json', `${JSON.stringify(manifestJsonSchema(), null, 2)}\n`);
  console.log('wrote docs/coffer.schema.json');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
