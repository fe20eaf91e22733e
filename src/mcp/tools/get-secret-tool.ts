/**
 * `get_secret({ keyPath, env? })`: reads a secret back. The value is returned only when the server
 * runs with `--reveal allow` (the default, for workflows that read a value back to check it); with `--reveal never`
 * the answer is `{revealed: false, preview, version, description}`. Either way the read is
 * audited as a `get`.
 */
import * as z from 'zod';
import { previewOf } from '../results.js';
import {
  type CofferTool,
  defineTool,
  envField,
  keyPathField,
  previewField,
  READ_ONLY,
  target,
} from './tool.js';

export const getSecretTool: CofferTool = defineTool({
  name: 'get_secret',
  title: 'Read a secret',
  description:
    'Read the latest version of a secret. Returns the value only when this server allows revealing values (coffer mcp --reveal allow, the default); ' +
    'otherwise revealed is false and only a short preview is returned. Prefer write_env or verify_secret when the value itself is not needed.',
  input: z.object({ keyPath: keyPathField, env: envField }),
  output: z.object({
    keyPath: z.string(),
    env: z.string(),
    version: z.number().int(),
    description: z.string(),
    revealed: z.boolean().describe('false when the server does not reveal values (--reveal never)'),
    value: z.string().optional().describe('The value; present only when revealed is true'),
    preview: previewField,
  }),
  annotations: READ_ONLY,
  async run(args, ctx) {
    const { path, env } = await target(args.keyPath, args.env, ctx, 'read', 'get');
    const secret = await ctx.vault.get(path, env);
    const revealed = ctx.policy.reveal === 'allow';
    return {
      keyPath: path,
      env,
      version: secret.version,
      description: secret.description,
      revealed,
      ...(revealed ? { value: secret.value } : {}),
      preview: previewOf(secret.value),
    };
  },
});
