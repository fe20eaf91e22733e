/**
 * `set_secret({ keyPath, value, description, env? })`: the first step of the store-first workflow. Stores a new
 * version (creating the secret, which needs a description that says what it is for), reads
 * that version back and compares it with what was sent, and answers with a preview, never
 * the value.
 */
import { timingSafeEqual } from 'node:crypto';
import * as z from 'zod';
import { CofferError } from '../../core/errors.js';
import { MAX_VALUE_BYTES } from '../../core/store/vault.js';
import { previewOf } from '../results.js';
import {
  type CofferTool,
  defineTool,
  descriptionField,
  envField,
  keyPathField,
  previewField,
  type ToolContext,
  target,
} from './tool.js';

/** Constant-time equality of two strings (by their UTF-8 bytes). */
function sameValue(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  try {
    return x.length === y.length && timingSafeEqual(x, y);
  } finally {
    x.fill(0);
    y.fill(0);
  }
}

export const setSecretTool: CofferTool = defineTool({
  name: 'set_secret',
  title: 'Store a secret',
  description:
    'Store a secret in the encrypted coffer vault BEFORE writing it anywhere else (then use write_env to put it into .env). ' +
    'Creates the secret or adds a new version (older versions are kept). A description is required when the secret is created. ' +
    'The stored version is read back and compared; the answer holds a short preview, never the value. ' +
    'An empty value is refused unless allowEmpty is true.',
  input: z.object({
    keyPath: keyPathField,
    value: z.string().max(MAX_VALUE_BYTES).describe('The secret value (at most 64 KiB of UTF-8)'),
    description: descriptionField
      .optional()
      .describe(
        'What the secret is for, e.g. "Stripe API key for payment processing"; required when the secret is created, replaces the old description otherwise',
      ),
    env: envField,
    allowEmpty: z
      .boolean()
      .optional()
      .describe(
        'Store an empty value on purpose (default false: an empty value is refused, as it usually means a missing one)',
      ),
  }),
  output: z.object({
    keyPath: z.string(),
    env: z.string(),
    version: z.number().int(),
    created: z.boolean().describe('true when this call created the secret'),
    verified: z
      .boolean()
      .describe('true when the stored version decrypts to exactly the value sent'),
    preview: previewField,
  }),
  annotations: {
    readOnlyHint: false,
    // A new version is added; no version is removed, so nothing is lost.
    destructiveHint: false,
    idempotentHint: false,
    openWorldHint: false,
  },
  async run(args, ctx) {
    const { path, env } = await target(args.keyPath, args.env, ctx, 'write', 'set');
    const stored = await ctx.vault.set(path, env, args.value, {
      description: args.description,
      ...(args.allowEmpty === true ? { allowEmpty: true } : {}),
    });
    return {
      keyPath: path,
      env,
      version: stored.version,
      created: stored.created,
      verified: await readBack(ctx, path, env, stored.version, args.value),
      preview: previewOf(args.value),
    };
  },
});

/**
 * Does the stored version hold the value sent? Read back and compared; where the server's
 * token may not read values (`token create --no-reveal`, remote mode), the stored versions
 * are decrypted and authenticated on the server instead (verify), which is all it allows.
 */
async function readBack(
  ctx: ToolContext,
  path: string,
  env: string,
  version: number,
  value: string,
): Promise<boolean> {
  try {
    const back = await ctx.vault.get(path, env, { version });
    return sameValue(back.value, value);
  } catch (err) {
    if (!(ctx.vault.remote && err instanceof CofferError && err.code === 'FORBIDDEN')) throw err;
    return (await ctx.vault.verify(path, env)).ok;
  }
}
