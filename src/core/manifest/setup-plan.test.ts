import { describe, expect, it } from 'vitest';
import {
  OPTIONAL_SENTRY_DSN,
  RECEPTOR_TIER1,
  RECEPTOR_TIER2,
  receptorManifestWith,
} from '../../../test/helpers/receptor-manifest.js';
import { parseManifest } from './parse.js';
import { missingOf, planSetup, type SetupState } from './setup-plan.js';

/**
 * Seed 002's receptor project (the shared fixture), with an optional variable and a tier 1
 * secret generated in every environment added for the cases the seed does not have.
 */
const RECEPTOR = parseManifest(
  receptorManifestWith(`${OPTIONAL_SENTRY_DSN}  SESSION_KEY:
    description: Encrypts the session cookies the web app sets for signed-in users
    tier: 1
    source: { generate: "hex:32" }
`),
  'coffer.yaml',
);

const none: SetupState = {
  inVault: new Set(),
  deletedInVault: new Set(),
  inFile: new Set(),
  processEnv: new Set(),
  interactive: false,
  generateMissing: false,
};

const actions = (env: string, state: Partial<SetupState> = {}) =>
  Object.fromEntries(
    planSetup(RECEPTOR, env, { ...none, ...state }).map((p) => [p.variable.name, p.step.action]),
  );

describe('planSetup', () => {
  it('dev: generates tier 1, asks for the rest on a terminal, writes plain settings', () => {
    expect(actions('dev', { interactive: true })).toEqual({
      JWT_SECRET: 'generate',
      POSTGRES_PASSWORD: 'generate',
      SERVICE_ROLE_KEY: 'generate',
      OPENAI_API_KEY: 'ask',
      SMTP_PASS: 'ask',
      CLOUDFLARED_TOKEN: 'ask',
      PUBLIC_URL: 'value',
      SENTRY_DSN: 'ask',
      SESSION_KEY: 'generate',
    });
  });

  it('keeps what the vault has and imports what only the .env file has', () => {
    expect(
      actions('dev', {
        inVault: new Set(['JWT_SECRET']),
        inFile: new Set(['JWT_SECRET', 'OPENAI_API_KEY']),
      }),
    ).toMatchObject({ JWT_SECRET: 'keep', OPENAI_API_KEY: 'import' });
  });

  it('prod without a terminal and nothing exported: every missing name at once, optional ones skipped', () => {
    const plan = planSetup(RECEPTOR, 'prod', none);
    expect(missingOf(plan).map((p) => p.variable.name)).toEqual([
      ...RECEPTOR_TIER1,
      ...RECEPTOR_TIER2,
      'SESSION_KEY',
    ]);
    expect(actions('prod').SENTRY_DSN).toBe('skip');
  });

  it('prod: an exported variable is used, never generated over', () => {
    expect(
      actions('prod', { processEnv: new Set(['JWT_SECRET', 'SERVICE_ROLE_KEY']) }),
    ).toMatchObject({
      JWT_SECRET: 'from-env',
      SERVICE_ROLE_KEY: 'from-env',
      POSTGRES_PASSWORD: 'missing',
    });
  });

  it('prod: tier 1 is generated only with --generate-missing', () => {
    expect(actions('prod').SESSION_KEY).toBe('missing');
    expect(actions('prod', { generateMissing: true }).SESSION_KEY).toBe('generate');
    // An env: source is never generated, even when told.
    expect(actions('prod', { generateMissing: true }).SERVICE_ROLE_KEY).toBe('missing');
  });

  it('prod on a terminal: a tier 1 secret neither exported nor stored is asked for (seed 002), never generated unless told', () => {
    const asked = actions('prod', { interactive: true });
    // env: sources (the deploy's variables) and tier 1 generate sources alike.
    for (const name of [...RECEPTOR_TIER1, 'SESSION_KEY']) expect(asked[name], name).toBe('ask');
    expect(missingOf(planSetup(RECEPTOR, 'prod', { ...none, interactive: true }))).toEqual([]);
    // Exported or stored still wins over asking; --generate-missing still generates.
    expect(
      actions('prod', { interactive: true, processEnv: new Set(['JWT_SECRET']) }).JWT_SECRET,
    ).toBe('from-env');
    expect(actions('prod', { interactive: true, generateMissing: true }).SESSION_KEY).toBe(
      'generate',
    );
  });

  it('a deleted secret is not revived', () => {
    expect(actions('dev', { deletedInVault: new Set(['JWT_SECRET']) }).JWT_SECRET).toBe('missing');
  });

  it('a typo of an environment is an error with a suggestion', () => {
    let err: unknown;
    try {
      planSetup(RECEPTOR, 'production', none);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'INVALID_ENV', hint: 'did you mean --env prod?' });
  });
});

describe('planSetup: a shared meta/ secret', () => {
  const m = parseManifest(
    `project: app
variables:
  API_TOKEN:
    description: Cloudflare API token the deploy script purges the cache with
    path: meta/cloudflare/api_token
  ZONE_ID:
    description: Cloudflare zone the deploy script purges the cache of
    path: meta/cloudflare/zone_id
    required: false
`,
    'coffer.yaml',
  );
  const plan = (state: Partial<SetupState>) =>
    planSetup(m, 'dev', { ...none, ...state }).map((p) => p.step);

  it('is kept when stored', () => {
    expect(plan({ inVault: new Set(['API_TOKEN', 'ZONE_ID']) })).toEqual([
      { action: 'keep' },
      { action: 'keep' },
    ]);
  });

  it('is never created: not from the .env file, the environment or a prompt', () => {
    const steps = plan({
      inFile: new Set(['API_TOKEN', 'ZONE_ID']),
      processEnv: new Set(['API_TOKEN', 'ZONE_ID']),
      interactive: true,
    });
    expect(steps.map((s) => s.action)).toEqual(['missing', 'skip']);
    expect(steps[0]).toMatchObject({
      reason: expect.stringContaining(
        'meta/cloudflare/api_token is a shared secret: setup reads it, never creates it',
      ),
    });
  });
});
