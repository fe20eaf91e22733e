/**
 * The shape of `coffer.yaml`, the project manifest, as zod schemas. They check structure and
 * types only (unknown keys are errors); the rules coffer has for the values themselves (key
 * paths, descriptions, generator specs, rotation policies, environment names) are applied
 * by parse.ts with the same functions every front end uses. The published JSON Schema
 * (docs/coffer.schema.json, for editors) is made from these schemas by
 * scripts/make-manifest-schema.mjs, and a test keeps the two equal.
 */
import * as z from 'zod';

/** Where a variable's value comes from in one environment. */
export const SourceSchema = z
  .union([
    z.literal('ask').describe('Prompt for the value (hidden input) when it is missing'),
    z
      .strictObject({
        generate: z.string().describe('A generator spec, e.g. hex:32 or password:24'),
      })
      .describe('Generate the value when it is missing (never overwrites)'),
    z
      .strictObject({ env: z.string().describe('The process-environment variable to read') })
      .describe('Take the value from the process environment (injected, never generated)'),
    z
      .strictObject({ value: z.string().describe('The value (non-sensitive variables only)') })
      .describe('A plain default written in the manifest'),
  ])
  .describe('Where the value comes from');

export const VariableSchema = z
  .strictObject({
    description: z
      .string()
      .describe('What the secret is for and where it is used (the same rule as coffer set)'),
    path: z
      .string()
      .optional()
      .describe(
        "The key path in the vault: one of the project's (default project/{project}/{name in lowercase}), or a shared meta/{service}/{name} secret that setup only reads",
      ),
    group: z
      .string()
      .optional()
      .describe('The section it is listed under in .env.example, e.g. "API Keys" or "Database"'),
    tier: z
      .union([z.literal(1), z.literal(2), z.literal(3)])
      .optional()
      .describe('1: infrastructure core, 2: third-party service, 3: data-encryption key'),
    sensitive: z
      .boolean()
      .optional()
      .describe('false for plain configuration, which may carry a value here; default true'),
    required: z.boolean().optional().describe('Whether setup and check require it; default true'),
    source: SourceSchema.optional().describe('The source in every environment'),
    sources: z
      .record(z.string(), SourceSchema)
      .optional()
      .describe('The source per environment; the key `default` covers the others'),
    rotation: z
      .string()
      .optional()
      .describe('Rotation policy: a period such as 90d or 1y, on-compromise, or never'),
    rotate: z
      .string()
      .optional()
      .describe("How to rotate it at the provider: steps as text, or a URL to the provider's page"),
    previous: z
      .string()
      .optional()
      .describe(
        'During a rotation grace window, the variable that carries the previous value (e.g. JWT_SECRET_PREVIOUS), so the app accepts both',
      ),
    local_only: z.boolean().optional().describe('Never exported or synced to a deploy target'),
  })
  .describe('One environment variable the project needs');

export const ManifestSchema = z
  .strictObject({
    $schema: z.string().optional().describe('The JSON Schema editors validate this file with'),
    project: z.string().describe('The project name: lowercase letters, digits, - and _'),
    env: z.string().optional().describe('The default environment of commands in this directory'),
    environments: z
      .array(z.string())
      .optional()
      .describe('The environments that exist, e.g. [dev, staging, prod]'),
    allow_env_names: z
      .union([z.string(), z.array(z.string())])
      .optional()
      .describe('Variable names this project may set that coffer refuses by default'),
    variables: z
      .record(z.string(), VariableSchema)
      .optional()
      .describe('The environment variables, by name'),
  })
  .describe('coffer project manifest (coffer.yaml): safe to commit, holds no secret value');

export type RawManifest = z.infer<typeof ManifestSchema>;
export type RawVariable = z.infer<typeof VariableSchema>;
export type RawSource = z.infer<typeof SourceSchema>;

/** The JSON Schema of the manifest (docs/coffer.schema.json). */
export function manifestJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(ManifestSchema, { target: 'draft-2020-12' }),
    title: 'coffer.yaml',
  };
}
