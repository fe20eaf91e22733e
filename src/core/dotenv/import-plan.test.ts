/** `env import`'s mapping from variables to secret names, and its refusal of collisions. */
import dotenv from 'dotenv';
import { describe, expect, it } from 'vitest';
import { importEntries, importEnvVar } from './import-plan.js';

describe('importEntries', () => {
  it('maps each variable to a name, with dotenv values and the line of the last occurrence', () => {
    const text = '# db\nDATABASE_URL=postgres://x\r\nPORT=1\rPORT=2\n';
    expect(importEntries(text)).toEqual([
      { key: 'DATABASE_URL', name: 'database_url', value: 'postgres://x', line: 2 },
      { key: 'PORT', name: 'port', value: '2', line: 4 },
    ]);
    const parsed = dotenv.parse(text);
    for (const e of importEntries(text)) expect(e.value).toBe(parsed[e.key]);
  });

  it('refuses two variables that become one secret, naming both and their lines', () => {
    expect(() => importEntries('API_KEY=a\napi_key=b\n')).toThrow(
      'API_KEY (line 1) and api_key (line 2) both become api_key',
    );
    expect(() => importEntries('X=1\nFOO.BAR=a\n\nFOO_BAR=b\n')).toThrow(
      'FOO.BAR (line 2) and FOO_BAR (line 4) both become foo_bar',
    );
    expect(() => importEntries('A=1\nA=2\n')).not.toThrow();
  });
});

describe('importEnvVar', () => {
  it('keeps the file key only where the name gives another variable, and refuses keys no program could get', () => {
    expect(importEnvVar({ key: 'STRIPE_KEY', name: 'stripe_key' })).toBeUndefined();
    expect(importEnvVar({ key: 'stripeKey', name: 'stripekey' })).toBe('stripeKey');
    for (const key of ['MAIL.PASSWORD', 'X-Y', '1ABC']) {
      expect(() => importEnvVar({ key, name: 'mail_password' })).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
  });
});
