/**
 * The zod schemas of every request and answer of the HTTP API (docs/http-api.md). The same
 * objects validate requests at run time, check answers before they are sent (an answer
 * keeps only the fields listed here, so a record's other columns, such as a token's hash,
 * cannot slip out), and generate the OpenAPI document (openapi.ts).
 *
 * Shapes only: the grammar of key paths, environments, descriptions and globs is checked by
 * the core (paths.ts), so the HTTP API refuses exactly what the CLI refuses, with the same
 * messages. Query objects are strict: an unknown parameter (`?enviroment=prod`) is a 400,
 * not a silent read of `dev`.
 */
import { z } from 'zod';
import { MAX_GLOB_LENGTH, MAX_GLOBS } from '../core/access/globs.js';
import { TOKEN_CAPABILITIES } from '../core/access/tokens.js';

/** The API's named schemas: the `components.schemas` of the OpenAPI document. */
export const API_SCHEMAS: z.core.$ZodRegistry<{ id: string }> = z.registry<{ id: string }>();

function named<T extends z.ZodType>(id: string, schema: T): T {
  API_SCHEMAS.add(schema, { id });
  return schema;
}

const positiveInt = z
  .string()
  .regex(/^[1-9]\d{0,14}$/, 'expected a whole number >= 1')
  .transform(Number);
const wholeNumber = z
  .string()
  .regex(/^(0|[1-9]\d{0,14})$/, 'expected a whole number >= 0')
  .transform(Number);
const flag = z.enum(['true', 'false']).transform((v) => v === 'true');
const env = z.string().max(64).meta({ description: 'environment (default dev)' });
// JSON can carry an unpaired UTF-16 surrogate (`"\ud800"`), which has no UTF-8 form: stored
// as is, it would silently become U+FFFD. Refused instead, so a value reads back as sent.
// (With the `u` flag a proper pair is one code point and does not match.)
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const unicode = z.string().refine((s) => !LONE_SURROGATE.test(s), {
  message: 'not well-formed Unicode (an unpaired surrogate)',
});
const text = unicode.max(1000);

export const EnvQuery = z.strictObject({ env: env.optional() });
export const GetQuery = z.strictObject({ env: env.optional(), version: positiveInt.optional() });
export const ListQuery = z.strictObject({
  prefix: z.string().max(200).optional(),
  env: env.optional(),
  includeDeleted: flag.optional(),
});
export const AuditQuery = z.strictObject({
  afterSeq: wholeNumber.optional(),
  limit: positiveInt.pipe(z.number().max(1000)).optional(),
  path: z.string().max(200).optional(),
});
export const NoQuery = z.strictObject({});

/**
 * Metadata written with a new version (what `coffer setup` takes from the manifest). Shapes
 * only: the core checks the values (tier, rotation policy, env-var name, generator spec) as it
 * does for the CLI.
 */
export const SetMetadata = named(
  'SetMetadata',
  z.strictObject({
    tier: z.int().nullable().optional().meta({ description: '1, 2 or 3; null: none' }),
    rotation: z.string().max(32).nullable().optional().meta({
      description: 'rotation policy: 90d, 1y, on-compromise, never',
    }),
    envVar: z.string().max(256).nullable().optional().meta({
      description: 'the environment-variable name when it is not the key name in capitals',
    }),
    localOnly: z.boolean().optional().meta({ description: 'never exported or synced' }),
    generator: z.string().max(64).nullable().optional().meta({
      description: 'the generator spec the value was made with, e.g. hex:32',
    }),
  }),
);

const setDescription = text.optional().meta({ description: 'required when the secret is created' });
const setIfVersion = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional().meta({
  description: 'check-and-set: the current version (0 = must not exist yet)',
});

export const SetBody = named(
  'SetBody',
  z.strictObject({
    value: unicode.meta({ description: 'the value, at most 64 KiB of UTF-8' }),
    description: setDescription,
    ifVersion: setIfVersion,
    allowEmpty: z.boolean().optional().meta({
      description: 'store an empty value on purpose (refused with EMPTY_VALUE otherwise)',
    }),
    metadata: SetMetadata.optional().meta({
      description: 'metadata stored with this version, as `coffer setup` sets it from coffer.yaml',
    }),
  }),
);

/**
 * What a set would carry apart from its value, checked against the stored secret before the
 * value is asked for (`coffer set` on a terminal). Never a value: `value` is an unknown field.
 */
export const CheckSetBody = named(
  'CheckSetBody',
  z.strictObject({ description: setDescription, ifVersion: setIfVersion }),
);

/**
 * A glob of a token's `allow`: core's limit (globs.ts, MAX_GLOB_LENGTH), so this API and
 * `coffer token create` take the same globs; the rest of the rule (segments, grammar) is
 * core's parseGlobs, which both call.
 */
const tokenGlob = z
  .string()
  .max(MAX_GLOB_LENGTH, `a path glob is at most ${MAX_GLOB_LENGTH} characters`);

export const TokenBody = named(
  'TokenRequest',
  z.strictObject({
    name: z.string().max(64),
    allow: z
      .array(tokenGlob)
      .min(1)
      .max(MAX_GLOBS, `a policy holds at most ${MAX_GLOBS} path globs`),
    envs: z.array(env).max(64).optional(),
    caps: z.array(z.enum(TOKEN_CAPABILITIES)).min(1).max(5),
    ttl: z.string().max(16).optional().meta({ description: 'e.g. 30d, 12h; none = no expiry' }),
    reveal: z.enum(['allow', 'never']).optional().meta({
      description:
        'never: the token may not read values (403, audited; stored in the token row under its MAC); a never token creates only never tokens',
    }),
  }),
);

export const ErrorAnswer = named(
  'Error',
  z.object({
    code: z.string(),
    message: z.string(),
    hint: z.string().optional().meta({
      description:
        "What the caller can do about the error (the CLI prints it as `hint:`); absent when there is none and for the server's own failures (STORE_ERROR, STORE_LOCKED, STORE_CORRUPT, IO_ERROR)",
    }),
    requestId: z.string(),
  }),
);

export const Health = named('Health', z.object({ ok: z.literal(true) }));
export const OpenApiDocument = named('OpenApiDocument', z.record(z.string(), z.unknown()));

export const SecretValue = named(
  'SecretValue',
  z.object({
    path: z.string(),
    env: z.string(),
    version: z.int(),
    value: z.string(),
    description: z.string(),
    createdAt: z.string(),
  }),
);

export const SetResult = named(
  'SetResult',
  z.object({ path: z.string(), env: z.string(), version: z.int(), created: z.boolean() }),
);

export const SecretInfo = named(
  'SecretInfo',
  z.object({
    path: z.string(),
    env: z.string(),
    description: z.string(),
    currentVersion: z.int(),
    tier: z.int().nullable(),
    rotation: z.string().nullable(),
    envVar: z.string().nullable(),
    localOnly: z.boolean(),
    generator: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    deletedAt: z.string().nullable(),
  }),
);

export const SecretList = named('SecretList', z.object({ items: z.array(SecretInfo) }));

export const RotationQuery = z.strictObject({
  prefix: z.string().max(200).optional(),
  env: env.optional(),
  dueWithin: z
    .string()
    .max(10)
    .optional()
    .meta({ description: 'what counts as due soon, e.g. 14d (default 30d)' }),
});

export const RotationStatusItem = named(
  'RotationStatusItem',
  z.object({
    path: z.string(),
    env: z.string(),
    state: z.enum([
      'compromised',
      'grace-ended',
      'in-grace',
      'overdue',
      'due-soon',
      'no-policy',
      'ok',
    ]),
    policy: z.string().nullable(),
    version: z.int(),
    versionCreatedAt: z.string(),
    ageDays: z.int(),
    dueAt: z.string().nullable(),
    daysLeft: z.int().nullable(),
    neverRotated: z.boolean(),
    rotatedBy: z.string().nullable(),
    graceUntil: z.string().nullable(),
    previousVersion: z.int().nullable(),
    compromisedAt: z.string().nullable(),
    action: z.string().nullable(),
  }),
);

export const RotationStatus = named(
  'RotationStatus',
  z.object({
    now: z.string(),
    dueWithinDays: z.int(),
    items: z.array(RotationStatusItem),
    counts: z.record(z.string(), z.int()).meta({ description: 'how many items in each state' }),
    overdue: z.int(),
    neverRotated: z.int(),
  }),
);

export const LeakBody = named(
  'LeakReport',
  z.strictObject({
    where: text.min(1).max(500).meta({
      description: 'where the value was seen (a log, a chat, a commit); never the value',
    }),
  }),
);

export const LeakOpened = named(
  'LeakOpened',
  z.object({
    incident: z.string(),
    path: z.string(),
    env: z.string(),
    resumed: z.boolean().meta({ description: 'an incident on this secret was already open' }),
  }),
);

export const FileWriteBody = named(
  'FileWrite',
  z.strictObject({
    file: text.min(1).meta({ description: 'the absolute path of the file written, on the client' }),
    via: z.string().max(64).meta({ description: 'the command that wrote it, e.g. env pull' }),
    secrets: z
      .array(
        z.strictObject({
          path: z.string().max(200),
          env,
          version: z.int().min(1).nullable(),
          name: z
            .string()
            .max(256)
            .optional()
            .meta({ description: 'the variable it was written under (a .env file)' }),
          reference: z.string().max(600).optional().meta({
            description:
              'or, for a template rendered by coffer inject, the reference whose value it holds: coffer://PATH?env=ENV',
          }),
        }),
      )
      .min(1)
      .max(10_000),
  }),
);

export const FileWriteRecorded = named(
  'FileWriteRecorded',
  z.object({
    recorded: z.int().meta({ description: 'secrets recorded (those the token may read)' }),
  }),
);

export const Deleted = named(
  'Deleted',
  z.object({ path: z.string(), env: z.string(), deleted: z.literal(true) }),
);

export const SetChecked = named(
  'SetChecked',
  z.object({ path: z.string(), env: z.string(), checked: z.literal(true) }),
);

export const Restored = named(
  'Restored',
  z.object({ path: z.string(), env: z.string(), restored: z.literal(true) }),
);

export const History = named(
  'History',
  z.object({
    path: z.string(),
    env: z.string(),
    versions: z.array(
      z.object({ version: z.int(), createdAt: z.string(), actor: z.string(), kekId: z.string() }),
    ),
  }),
);

export const VerifyReport = named(
  'VerifyReport',
  z.object({
    ok: z.boolean(),
    checked: z.int(),
    failures: z.array(
      z.object({
        path: z.string(),
        env: z.string(),
        version: z.int(),
        ok: z.boolean(),
        code: z.string().optional(),
      }),
    ),
    keyFailures: z.array(z.string()),
  }),
);

export const ProjectSecrets = named(
  'ProjectSecrets',
  z.object({
    project: z.string(),
    env: z.string(),
    items: z.array(
      z.object({
        path: z.string(),
        name: z.string(),
        envVar: z.string(),
        version: z.int(),
        value: z.string(),
        localOnly: z.boolean(),
      }),
    ),
  }),
);

export const AuditRecord = named(
  'AuditRecord',
  z.object({
    seq: z.int(),
    ts: z.string(),
    actor: z.string(),
    action: z.string(),
    path: z.string().nullable(),
    env: z.string().nullable(),
    version: z.int().nullable(),
    outcome: z.string(),
    detail: z.string().nullable(),
    prevHash: z.string().optional().meta({
      description:
        'the hash chain: only for a token that may check the whole chain (every path and environment)',
    }),
    hash: z.string().optional(),
  }),
);

export const AuditList = named(
  'AuditList',
  z.object({
    items: z.array(AuditRecord),
    nextAfterSeq: z.int().nullable().meta({
      description:
        'the afterSeq of the next page, or null at the end of the log; a page may be short, even empty, before the end (one request reads a bounded part of the log)',
    }),
  }),
);

export const AuditVerify = named(
  'AuditVerify',
  z.object({
    ok: z.boolean(),
    checked: z.int(),
    firstBroken: z.object({ seq: z.int(), reason: z.string() }).optional(),
    head: z.enum(['authenticated', 'legacy', 'broken']).optional(),
    acknowledged: z
      .array(
        z.object({
          seq: z.int(),
          ts: z.string(),
          actor: z.string(),
          reason: z.string(),
          problem: z.string(),
          storedHead: z.object({ seq: z.int(), hash: z.string() }).nullable(),
          headMac: z.string(),
          tableEnd: z.object({ seq: z.int(), hash: z.string() }).nullable(),
        }),
      )
      .optional(),
  }),
);

export const TokenInfo = named(
  'TokenInfo',
  z.object({
    name: z.string(),
    id: z.string(),
    allow: z.array(z.string()),
    envs: z.array(z.string()),
    caps: z.array(z.enum(TOKEN_CAPABILITIES)),
    createdAt: z.string(),
    expiresAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
    noReveal: z.boolean(),
  }),
);

export const TokenList = named('TokenList', z.object({ items: z.array(TokenInfo) }));

export const CreatedToken = named(
  'CreatedToken',
  z.object({ name: z.string(), token: z.string(), expiresAt: z.string().nullable() }),
);

export const Revoked = named('Revoked', z.object({ name: z.string(), revoked: z.literal(true) }));

export const SecretRequestBody = named(
  'SecretRequestBody',
  z.strictObject({
    keyPath: z.string().max(200),
    env: env.optional(),
    description: z.string().max(1000),
    writeEnv: z.string().min(1).max(200).optional().meta({
      description:
        'the .env file the agent writes afterwards (shown on the page; written by the agent)',
    }),
  }),
);

export const SecretRequestStatus = named(
  'SecretRequest',
  z.object({
    id: z.string(),
    status: z.enum(['pending', 'opened', 'stored', 'declined', 'expired', 'failed']),
    path: z.string(),
    env: z.string(),
    description: z.string(),
    writeEnv: z.string().optional(),
    actor: z.string(),
    createdAt: z.string(),
    expiresAt: z.string(),
    version: z.int().optional(),
    error: z.string().optional(),
  }),
);

export const CreatedSecretRequest = named(
  'CreatedSecretRequest',
  z.object({
    request: SecretRequestStatus,
    url: z.string().meta({ description: 'the one-time page for the user (shown once)' }),
  }),
);
