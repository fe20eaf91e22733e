import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { manifestJsonSchema } from './schema.js';

describe('the published JSON Schema of coffer.yaml', () => {
  it('docs/coffer.schema.json is what the zod schemas make (scripts/make-manifest-schema.mjs)', () => {
    const file = new URL('../../../docs/coffer.schema.json', import.meta.url);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(manifestJsonSchema());
  });

  it('describes every key and refuses unknown ones', () => {
    const schema = manifestJsonSchema() as {
      properties: Record<string, { description?: string }>;
      additionalProperties: unknown;
      required: string[];
    };
    expect(schema.required).toEqual(['project']);
    expect(schema.additionalProperties).toBe(false);
    for (const [key, p] of Object.entries(schema.properties)) {
      expect(p.description, key).toBeTruthy();
    }
  });
});
