/**
 * `generate_secret({ keyPath, description, kind?, length?, env? })`: the server makes a random
 * value with the same generators as `coffer generate` (OS CSPRNG) and stores it, so the
 * value never passes through the model. Idempotent as `coffer generate` is: an existing
 * secret is kept (`action: "kept"`); replacing one stays a human decision.
 */
import * as z from 'zod';
import { CofferError } from '../../core/errors.js';
import {
  type ByteKind,
  type CharKind,
  ensureGenerated,
  type GeneratorKind,
  type GeneratorSpec,
  isFixedKind,
  KINDS,
  MAX_SECRET_SIZE,
  MIN_SECRET_CHARS,
  minimumSize,
} from '../../core/generate/index.js';
import { envVarNameFor, parseKeyPath } from '../../core/paths.js';
import {
  type CofferTool,
  defineTool,
  descriptionField,
  envField,
  keyPathField,
  target,
} from './tool.js';

const BYTE_KINDS: readonly GeneratorKind[] = ['base64', 'hex', 'urlsafe', 'jwt'];

/** The generator spec for `kind` and the tool's single `length` argument. */
export function specFor(kind: GeneratorKind, length: number | undefined): GeneratorSpec {
  if (isFixedKind(kind)) {
    if (length !== undefined) {
      throw new CofferError('INVALID_ARGUMENT', `length does not apply to kind ${kind}`, {
        hint: 'Leave length out for uuid, fernet and keyring.',
      });
    }
    return { kind };
  }
  const min = minimumSize(kind as ByteKind | CharKind);
  if (length !== undefined && length < min) {
    throw new CofferError(
      'INVALID_ARGUMENT',
      `length ${length} makes a ${kind} secret of fewer than ${MIN_SECRET_CHARS} characters`,
      { hint: `Use length ${min} or more, or leave length out for the default.` },
    );
  }
  if (BYTE_KINDS.includes(kind)) {
    return { kind: kind as 'base64', ...(length !== undefined ? { bytes: length } : {}) };
  }
  return { kind: kind as 'alnum', ...(length !== undefined ? { length } : {}) };
}

export const generateSecretTool: CofferTool = defineTool({
  name: 'generate_secret',
  title: 'Generate and store a secret',
  description:
    'Generate a random secret (OS CSPRNG) and store it in the vault without ever showing it: use this instead of generating values yourself. ' +
    'If the secret exists already it is kept (action "kept"); a deleted one is refused (restoring it is up to the user). Then use write_env to put it into a .env file.',
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
    // The one generate-if-absent of every front end (core/generate/ensure.ts): an existing
    // secret is kept without being decrypted; a deleted one is refused (restoring it, or
    // replacing it with --force, is the user's decision).
    const r = await ensureGenerated({
      spec,
      store: { vault: ctx.vault, path, env, description: args.description },
    });
    const envVar = r.envVar ?? envVarNameFor(parseKeyPath(path).name);
    return {
      keyPath: path,
      env,
      action: r.action === 'kept' ? ('kept' as const) : ('generated' as const),
      version: r.version ?? 0,
      generator: r.generator,
      envVar,
    };
  },
});
