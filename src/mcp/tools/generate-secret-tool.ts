/**
 * `generate_secret({ keyPath, description, kind?, length?, env? })`: the server makes a random
 * value with the same generators as `coffer generate` (OS CSPRNG) and stores it, so the
 * value never passes through the model. Idempotent as `coffer generate` is: an existing
 * secret is kept (`action: "kept"`); replacing one stays a human decision.
 */
import * as z from 'zod';
import { CofferError } from '../../core/errors.js';
import {
  formatGeneratorSpec,
  type GeneratorKind,
  type GeneratorSpec,
  generateSecret,
  KINDS,
  MAX_SECRET_SIZE,
} from '../../core/generate/index.js';
import { envVarNameFor, parseKeyPath } from '../../core/paths.js';
import type { SecretInfo } from '../../core/store/vault.js';
import {
  type CofferTool,
  defineTool,
  descriptionField,
  envField,
  keyPathField,
  type ToolContext,
  target,
} from './tool.js';

const BYTE_KINDS: readonly GeneratorKind[] = ['base64', 'hex', 'urlsafe', 'jwt'];

/** The generator spec for `kind` and the tool's single `length` argument. */
export function specFor(kind: GeneratorKind, length: number | undefined): GeneratorSpec {
  if (kind === 'uuid' || kind === 'fernet') {
    if (length !== undefined) {
      throw new CofferError('INVALID_ARGUMENT', `length does not apply to kind ${kind}`, {
        hint: 'Leave length out for uuid and fernet.',
      });
    }
    return { kind };
  }
  if (BYTE_KINDS.includes(kind)) {
    return { kind: kind as 'base64', ...(length !== undefined ? { bytes: length } : {}) };
  }
  return { kind: kind as 'alnum', ...(length !== undefined ? { length } : {}) };
}

async function existing(
  ctx: ToolContext,
  path: string,
  env: string,
): Promise<SecretInfo | undefined> {
  try {
    const info = await ctx.vault.info(path, env);
    return info.deletedAt === null ? info : undefined;
  } catch (err) {
    if (err instanceof CofferError && err.code === 'SECRET_NOT_FOUND') return undefined;
    throw err;
  }
}

export const generateSecretTool: CofferTool = defineTool({
  name: 'generate_secret',
  title: 'Generate and store a secret',
  description:
    'Generate a random secret (OS CSPRNG) and store it in the vault without ever showing it: use this instead of generating values yourself. ' +
    'If the secret exists already it is kept (action "kept"). Then use write_env to put it into a .env file.',
  input: z.object({
    keyPath: keyPathField,
    description: descriptionField,
    kind: z
      .enum(KINDS as [GeneratorKind, ...GeneratorKind[]])
      .optional()
      .describe(
        'base64 (default), hex, urlsafe, jwt: random bytes; alnum, password: characters; uuid; fernet (a Fernet key)',
      ),
    length: z
      .number()
      .int()
      .min(1)
      .max(MAX_SECRET_SIZE)
      .optional()
      .describe(
        'Random bytes for base64/hex/urlsafe/jwt (default 32, jwt 64), characters for alnum/password (default 32/24)',
      ),
    env: envField,
  }),
  output: z.object({
    keyPath: z.string(),
    env: z.string(),
    action: z.enum(['generated', 'kept']),
    version: z.number().int(),
    generator: z
      .string()
      .nullable()
      .describe('The generator spec stored with the secret, e.g. base64:32'),
    envVar: z.string().describe('The variable name write_env uses'),
  }),
  annotations: {
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: false,
  },
  async run(args, ctx) {
    const { path, env } = await target(args.keyPath, args.env, ctx, 'write', 'generate');
    const spec = specFor(args.kind ?? 'base64', args.length);
    const generator = formatGeneratorSpec(spec);
    const found = await existing(ctx, path, env);
    const envVar = found?.envVar ?? envVarNameFor(parseKeyPath(path).name);
    if (found !== undefined) {
      return {
        keyPath: path,
        env,
        action: 'kept' as const,
        version: found.currentVersion,
        generator: found.generator,
        envVar,
      };
    }
    const stored = await ctx.vault.set(path, env, generateSecret(spec), {
      description: args.description,
      metadata: { generator },
    });
    return {
      keyPath: path,
      env,
      action: 'generated' as const,
      version: stored.version,
      generator,
      envVar,
    };
  },
});
