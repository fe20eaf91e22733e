import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CofferError } from './errors.js';
import {
  envVarNameFor,
  isValidSegment,
  normalizeSegment,
  parseDescription,
  parseEnvironment,
  parseEnvVarName,
  parseKeyPath,
  parsePathPrefix,
  suggestKeyPath,
} from './paths.js';

const segment = fc.stringMatching(/^[a-z0-9](?:[a-z0-9_-]{0,20}[a-z0-9])?$/);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    return e instanceof CofferError ? e.code : 'OTHER';
  }
}

describe('key paths', () => {
  it('accepts the seed examples', () => {
    for (const p of [
      'project/consilio/stripe_api_key',
      'project/odin/openai_api_key',
      'project/health-agent/telegram_bot_token',
      'meta/cloudflare/api_token',
      'meta/gcloud/service_account_key',
    ]) {
      expect(parseKeyPath(p).path).toBe(p);
    }
    expect(parseKeyPath('meta/cloudflare/api_token')).toEqual({
      scope: 'meta',
      group: 'cloudflare',
      name: 'api_token',
      path: 'meta/cloudflare/api_token',
    });
  });

  it('suggests the lowercase path for project/CONSILIO/Key', () => {
    const err = (() => {
      try {
        parseKeyPath('project/CONSILIO/Key');
        return undefined;
      } catch (e) {
        return e as CofferError;
      }
    })();
    expect(err?.code).toBe('INVALID_PATH');
    expect(err?.message).toContain('lowercase');
    expect(err?.hint).toContain('did you mean project/consilio/key');
  });

  it('explains the form for consilio-stripe-key', () => {
    expect(codeOf(() => parseKeyPath('consilio-stripe-key'))).toBe('INVALID_PATH');
    expect(suggestKeyPath('consilio-stripe-key')).toBe('project/consilio/stripe_key');
  });

  it('refuses wrong shapes', () => {
    for (const p of [
      '',
      'project',
      'project/x',
      'project//x',
      'project/x/y/z',
      'secrets/x/y',
      'project/-x/y',
      'project/x/y_',
      'project/x/ y',
      'project/x/é',
    ]) {
      expect(
        codeOf(() => parseKeyPath(p)),
        p,
      ).toBe('INVALID_PATH');
    }
  });

  it('property: every valid path parses to itself', () => {
    fc.assert(
      fc.property(fc.constantFrom('project', 'meta'), segment, segment, (scope, g, n) => {
        expect(parseKeyPath(`${scope}/${g}/${n}`).path).toBe(`${scope}/${g}/${n}`);
      }),
    );
  });

  it('property: a suggestion, when given, is itself a valid path', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (input) => {
        const s = suggestKeyPath(input);
        if (s !== undefined) expect(parseKeyPath(s).path).toBe(s);
      }),
      { numRuns: 500 },
    );
  });

  it('property: any input either parses or fails with INVALID_PATH', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (input) => {
        const code = codeOf(() => parseKeyPath(input));
        expect(code === undefined || code === 'INVALID_PATH').toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('normalizes segments into valid ones', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        const n = normalizeSegment(s);
        if (n !== '') expect(isValidSegment(n)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('parses list prefixes', () => {
    expect(parsePathPrefix('project')).toEqual({ scope: 'project' });
    expect(parsePathPrefix('meta/cloudflare')).toEqual({ scope: 'meta', group: 'cloudflare' });
    expect(codeOf(() => parsePathPrefix('project/Consilio'))).toBe('INVALID_PATH');
    expect(codeOf(() => parsePathPrefix('other'))).toBe('INVALID_PATH');
  });
});

describe('environments and env-var names', () => {
  it('accepts lowercase names and refuses others', () => {
    for (const e of ['dev', 'staging', 'prod', 'qa-2', 'eu_west'])
      expect(parseEnvironment(e)).toBe(e);
    for (const e of ['', 'Prod', 'my env', '-x', 'x'.repeat(40)])
      expect(
        codeOf(() => parseEnvironment(e)),
        e,
      ).toBe('INVALID_ENV');
  });

  it('takes env-var names of letters, digits and _, but not __proto__, which every object has', () => {
    for (const n of ['STRIPE_API_KEY', '_X', 'proto', '__PROTO__', '__proto', 'constructor'])
      expect(parseEnvVarName(n)).toBe(n);
    for (const n of ['__proto__', '', '1X', 'A-B', 'A B', 'X'.repeat(129)])
      expect(
        codeOf(() => parseEnvVarName(n)),
        n,
      ).toBe('INVALID_ARGUMENT');
  });

  it('derives env-var names from secret names', () => {
    expect(envVarNameFor('stripe_api_key')).toBe('STRIPE_API_KEY');
    expect(envVarNameFor('telegram-bot-token')).toBe('TELEGRAM_BOT_TOKEN');
  });
});

describe('descriptions', () => {
  it('refuses control characters and invisible formatting, keeping emoji sequences', () => {
    const base = 'Stripe API key for payment processing';
    for (const hidden of ['\u202E', '\u2066', '\u200B', '\u200E', '\u001b[2J', '\u0007', '\u00AD'])
      expect(
        codeOf(() => parseDescription(`${base} ${hidden}in the shop`)),
        JSON.stringify(hidden),
      ).toBe('INVALID_DESCRIPTION');
    // Line breaks and tabs are spaces; a joined emoji and other scripts are text.
    expect(parseDescription(`${base}\n\tin the shop`)).toBe(`${base} in the shop`);
    expect(parseDescription(`${base} 👩\u200D💻 für den Laden`)).toBe(
      `${base} 👩\u200D💻 für den Laden`,
    );
  });

  // seeds/003 "Description Guidelines" (good and bad), its set_secret examples, and the
  // descriptions that passed before although they say nothing about what a secret is for.
  const table: [description: string, path: string | undefined, ok: boolean][] = [
    ['Stripe API key for payment processing', 'project/consilio/stripe_api_key', true],
    ['PostgreSQL production database password', 'project/consilio/db_password', true],
    ['SendGrid API key for transactional emails', 'project/consilio/sendgrid_api_key', true],
    ['JWT signing secret for authentication', 'project/myproject/jwt_secret', true],
    ['Cloudflare API token for DNS updates', 'meta/cloudflare/api_token', true],
    ['Stripe API key for payment processing', 'project/consilio/payment_processing_key', true],
    ['Clé Stripe pour les paiements', undefined, true],
    ['API key', undefined, false],
    ['Password', undefined, false],
    ['Secret', undefined, false],
    ['token', undefined, false],
    ['', undefined, false],
    ['   ', undefined, false],
    ['my secret key', undefined, false],
    ['API_KEY', undefined, false],
    ['the token', undefined, false],
    ['Database', 'project/agents/database_url', false],
    ['Database URL', undefined, false],
    ['Stripe key', 'project/consilio/stripe_key', false],
    ['Stripe key', undefined, false],
    ['JWT secret', 'project/openhorizon/jwt_secret', false],
    ['EMPTY for the agents project', 'project/agents/empty', false],
    ['EMPTY for the agents project', undefined, false],
    ['STRIPE_API_KEY for the consilio project', 'project/consilio/stripe_api_key', false],
    ['OpenAI API key', 'project/odin/openai_api_key', false],
    ['TODO', undefined, false],
  ];

  it.each(table)('%j at %s: accepted %s', (description, path, ok) => {
    if (ok) {
      expect(parseDescription(description, path)).toBe(description);
      return;
    }
    try {
      parseDescription(description, path);
      expect.unreachable(description);
    } catch (e) {
      expect((e as CofferError).code).toBe('INVALID_DESCRIPTION');
      expect((e as CofferError).hint).toContain('Stripe API key for payment processing');
      expect((e as CofferError).hint).toContain('what the secret is for');
    }
  });

  it('never repeats the refused text (it may be a value given as the description)', () => {
    let err: unknown;
    try {
      parseDescription('abc123xyz', 'project/consilio/stripe_api_key');
    } catch (e) {
      err = e;
    }
    expect((err as CofferError).code).toBe('INVALID_DESCRIPTION');
    expect((err as CofferError).message).not.toContain('abc123xyz');
  });

  it('property: generic words in any order and case are refused', () => {
    const generic = fc.constantFrom(
      'api',
      'key',
      'secret',
      'token',
      'password',
      'the',
      'my',
      'Access',
      'AUTH',
      'URL',
      'empty',
      'project',
    );
    fc.assert(
      fc.property(fc.array(generic, { minLength: 1, maxLength: 5 }), (words) => {
        expect(codeOf(() => parseDescription(words.join(' ')))).toBe('INVALID_DESCRIPTION');
      }),
    );
  });
});
