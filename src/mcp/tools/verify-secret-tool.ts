/**
 * `verify_secret({ keyPath, env? })`: the "verify it worked" step of the workflow, without
 * the value. Decrypts and authenticates every stored version of the secret in one
 * environment and returns that report with the secret's metadata.
 */
import * as z from 'zod';
import { type CofferTool, defineTool, envField, keyPathField, READ_ONLY, target } from './tool.js';

export const verifySecretTool: CofferTool = defineTool({
  name: 'verify_secret',
  title: 'Verify a stored secret',
  description:
    'Check that a secret is stored and intact: every version is decrypted and authenticated. ' +
    'Returns ok, how many versions were checked and the metadata, never the value. Use it after set_secret and write_env.',
  input: z.object({ keyPath: keyPathField, env: envField }),
  output: z.object({
    keyPath: z.string(),
    env: z.string(),
    ok: z.boolean().describe('true when every version decrypts and authenticates'),
    checked: z.number().int().describe('Versions checked'),
    failures: z.array(z.object({ version: z.number().int(), code: z.string() })),
    version: z.number().int().describe('The current version'),
    description: z.string(),
    deleted: z.boolean(),
    updatedAt: z.string(),
  }),
  annotations: READ_ONLY,
  async run(args, ctx) {
    const { path, env } = await target(args.keyPath, args.env, ctx, 'read', 'verify');
    const info = await ctx.vault.info(path, env);
    const report = await ctx.vault.verify(path, env);
    return {
      keyPath: path,
      env,
      ok: report.ok,
      checked: report.checked,
      failures: report.failures.map((f) => ({ version: f.version, code: f.code ?? 'INTERNAL' })),
      version: info.currentVersion,
      description: info.description,
      deleted: info.deletedAt !== null,
      updatedAt: info.updatedAt,
    };
  },
});
