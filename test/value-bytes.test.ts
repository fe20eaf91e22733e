/**
 * A value is bytes of UTF-8 and comes back byte for byte, through the HTTP API (in process,
 * `app.request`) and through `coffer/client` talking to that same app: in particular a value
 * that begins with U+FEFF, which TextDecoder and Response.text() drop by default.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createClient } from '../src/client/client.js';
import { DESCRIPTION, type Kit, makeKit } from './helpers/server-kit.js';

const PATH = 'project/app/bom';
const BOM_VALUES = ['\ufeffabc', '\ufeff', '\ufeff\ufeffx', 'a\ufeff', '\ufeff\n'];

let kit: Kit;
beforeEach(async () => {
  kit = await makeKit();
});
afterEach(async () => {
  await kit.dispose();
});

const bytes = (s: string) => Buffer.from(s, 'utf8').toString('hex');

/** A client whose fetch is the in-process app (no socket), as the CLI's remote mode uses it. */
function client() {
  return createClient({
    url: 'http://127.0.0.1:8700',
    token: kit.tokens.admin,
    fetch: (url, init) =>
      Promise.resolve(
        kit.app.request(String(url), init as RequestInit, {
          incoming: { socket: { remoteAddress: '127.0.0.1' } },
        }),
      ),
  });
}

describe('values beginning with U+FEFF', () => {
  it('HTTP: PUT then GET answers the same bytes', async () => {
    let version = 0;
    for (const value of BOM_VALUES) {
      const put = await kit.send('PUT', `/v1/secrets/${PATH}`, {
        token: kit.tokens.admin,
        body: { value, description: DESCRIPTION, ifVersion: version },
      });
      expect(put.status, put.text).toBe(200);
      version = put.json.version as number;
      const get = await kit.send('GET', `/v1/secrets/${PATH}`, { token: kit.tokens.admin });
      expect(bytes(get.json.value as string)).toBe(bytes(value));
    }
  });

  it('the vault itself reads back what it stored (get and readProject)', async () => {
    await kit.vault.set(PATH, 'dev', '\ufeffabc', { description: DESCRIPTION });
    expect((await kit.vault.get(PATH, 'dev')).value).toBe('\ufeffabc');
    const [s] = await kit.vault.readProject('app', 'dev', 'test');
    expect(s?.value).toBe('\ufeffabc');
  });

  it('coffer/client against the server: setSecret, getSecret and readProject', async () => {
    const c = client();
    await c.setSecret(PATH, '\ufeffabc', { description: DESCRIPTION });
    expect(bytes((await c.getSecret(PATH)).value)).toBe(bytes('\ufeffabc'));
    const [s] = await c.readProject('app');
    expect(s?.value).toBe('\ufeffabc');
  });

  it('any well-formed value round-trips through the client and the server (property)', async () => {
    const c = client();
    const value = fc
      .oneof(
        fc.string({ unit: 'grapheme', maxLength: 30 }),
        fc.string({ unit: 'binary', maxLength: 30 }),
        fc.string({ maxLength: 10 }).map((s) => `\ufeff${s}`),
      )
      .map((v) => v.replaceAll('\u0000', ''));
    await fc.assert(
      fc.asyncProperty(value, async (v) => {
        await c.setSecret(PATH, v, { description: DESCRIPTION, allowEmpty: true });
        expect(bytes((await c.getSecret(PATH)).value)).toBe(bytes(v));
      }),
      { numRuns: 40 },
    );
  });

  it('a NUL in a value is refused with 400 INVALID_VALUE, on every front end', async () => {
    const put = await kit.send('PUT', `/v1/secrets/${PATH}`, {
      token: kit.tokens.admin,
      body: { value: 'a\u0000b', description: DESCRIPTION },
    });
    expect(put.status).toBe(400);
    expect(put.json.code).toBe('INVALID_VALUE');
    await expect(
      client().setSecret(PATH, 'a\u0000b', { description: DESCRIPTION }),
    ).rejects.toThrow(/NUL/);
  });
});
