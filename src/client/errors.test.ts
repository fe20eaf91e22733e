/**
 * How the client turns error answers, network failures and bad options into CofferErrors,
 * and that no error ever carries the token.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeFetch } from '../../test/helpers/fake-fetch.js';
import { CofferError, defaultHint, ERROR_CODES, errorClassOf } from '../core/errors.js';
import { createClient } from './client.js';

const SECRET_PART = 'q0DPm6bH4vXc1nKz8sY2fLwR9aTeJ5uGhB7iNoVdE3x';
const TOKEN = `coffer_t0k3n1d_${SECRET_PART}`;
const URL_ = 'http://127.0.0.1:8700';

async function failure(promise: Promise<unknown>): Promise<CofferError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CofferError);
  return err as CofferError;
}

function answering(status: number, body: unknown, headers: Record<string, string> = {}) {
  return createClient({
    url: URL_,
    token: TOKEN,
    fetch: fakeFetch(() => ({ status, body, headers })),
  });
}

describe('error answers', () => {
  it.each([
    [401, 'UNAUTHENTICATED', 'integrity'],
    [403, 'FORBIDDEN', 'integrity'],
    [404, 'SECRET_NOT_FOUND', 'not_found'],
    [409, 'VERSION_CONFLICT', 'conflict'],
    [429, 'RATE_LIMITED', 'failure'],
    [400, 'INVALID_PATH', 'usage'],
    [500, 'INTEGRITY_FAILURE', 'integrity'],
  ] as const)('HTTP %i with code %s keeps the code and its class', async (status, code, cls) => {
    const body = { code, message: 'what the server says', requestId: 'req-42' };
    const err = await failure(answering(status, body).getSecret('project/app/key'));
    expect(err.code).toBe(code);
    expect(err.errorClass).toBe(cls);
    expect(err.message).toBe('what the server says (request id req-42)');
  });

  it.each([
    [401, 'UNAUTHENTICATED'],
    [403, 'FORBIDDEN'],
    [404, 'SECRET_NOT_FOUND'],
    [409, 'VERSION_CONFLICT'],
    [413, 'VALUE_TOO_LARGE'],
    [429, 'RATE_LIMITED'],
    [400, 'INVALID_ARGUMENT'],
    [503, 'INTERNAL'],
    [418, 'SERVER_BAD_RESPONSE'],
  ] as const)('HTTP %i without a known code falls back to %s', async (status, code) => {
    const err = await failure(
      answering(status, { code: 'SOME_FUTURE_CODE' }).setSecret('project/app/key', 'v'),
    );
    expect(err.code).toBe(code);
    expect(err.message).toBe(
      `the server answered HTTP ${status} to PUT /v1/secrets/project/app/key`,
    );
  });

  it('429 carries Retry-After into the hint', async () => {
    const err = await failure(
      answering(
        429,
        { code: 'RATE_LIMITED', message: 'slow down' },
        { 'Retry-After': '30' },
      ).listSecrets(),
    );
    expect(err.hint).toContain('30 s');
  });

  it('a 2xx answer that is not a coffer answer is SERVER_BAD_RESPONSE naming the field only', async () => {
    const html = createClient({
      url: URL_,
      token: TOKEN,
      fetch: fakeFetch(() => ({ text: '<html>proxy login</html>' })),
    });
    expect((await failure(html.listSecrets())).code).toBe('SERVER_BAD_RESPONSE');
    const wrong = answering(200, {
      path: 'project/app/key',
      env: 'dev',
      version: '1',
      value: 'sk_live_value_123',
    });
    const err = await failure(wrong.getSecret('project/app/key'));
    expect(err.code).toBe('SERVER_BAD_RESPONSE');
    expect(err.message).toContain('secret.version');
    expect(err.message).not.toContain('sk_live_value_123');
  });

  it("keeps the server's hint, so a remote refusal says what to do as a local one does", async () => {
    const hint = 'Pass --description "what it is for", e.g. "Stripe API key for payments".';
    const body = { code: 'INVALID_DESCRIPTION', message: 'a description is required', hint };
    const err = await failure(answering(400, body).setSecret('project/app/key', 'v'));
    expect(err.code).toBe('INVALID_DESCRIPTION');
    expect(err.hint).toBe(hint);
    const conflict = { code: 'VERSION_CONFLICT', message: 'at version 2', hint: 'Read it first.' };
    const stale = await failure(answering(409, conflict).setSecret('project/app/key', 'v'));
    expect(stale.hint).toBe('Read it first.');
  });

  it('without a hint from the server (an older one), the catalogue hint for the code', async () => {
    const body = { code: 'VERSION_CONFLICT', message: 'at version 2', requestId: 'r' };
    const err = await failure(answering(409, body).setSecret('project/app/key', 'v'));
    expect(err.hint).toBe(defaultHint('VERSION_CONFLICT'));
  });

  it("cleans the server's hint: control characters out, cut short, dropped when it leaks", async () => {
    const hint = `Run\u001b[31m this\u202e now. ${'x'.repeat(2000)}`;
    const body = { code: 'INVALID_ARGUMENT', message: 'no', hint };
    const err = await failure(answering(400, body).listSecrets());
    expect(err.hint).toMatch(/^Run \[31m this +now\. x+\.\.\.$/);
    expect(err.hint!.length).toBeLessThan(700);
    for (const leak of [TOKEN, SECRET_PART, 'hunter2-value']) {
      const leaky = { code: 'VERSION_CONFLICT', message: 'no', hint: `use ${leak} instead` };
      const e = await failure(answering(409, leaky).setSecret('project/app/key', 'hunter2-value'));
      expect(e.hint).toBe(defaultHint('VERSION_CONFLICT'));
    }
  });

  it("a Retry-After says more than the server's rate-limit hint", async () => {
    const body = { code: 'RATE_LIMITED', message: 'slow down', hint: 'retry after a while' };
    const err = await failure(answering(429, body, { 'Retry-After': '12' }).listSecrets());
    expect(err.hint).toBe('Too many failed attempts; retry in 12 s.');
  });

  it('drops a server message that echoes the token or the value being stored', async () => {
    for (const leak of [TOKEN, SECRET_PART, 'hunter2-value']) {
      const client = answering(409, { code: 'VERSION_CONFLICT', message: `bad ${leak} here` });
      const err = await failure(client.setSecret('project/app/key', 'hunter2-value'));
      expect(err.code).toBe('VERSION_CONFLICT');
      expect(err.message).not.toContain(leak);
      expect(err.message).toContain('HTTP 409');
    }
  });
});

describe('network failures', () => {
  it('a refused connection is SERVER_UNREACHABLE with the address, not the token', async () => {
    const client = createClient({
      url: URL_,
      token: TOKEN,
      fetch: async () => {
        throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
      },
    });
    const err = await failure(client.getSecret('project/app/key'));
    expect(err.code).toBe('SERVER_UNREACHABLE');
    expect(err.message).toBe(`cannot reach the coffer server at ${URL_} (ECONNREFUSED)`);
  });

  const closedWhileIdle = () =>
    new TypeError('fetch failed', { cause: { code: 'UND_ERR_SOCKET' } });

  it('a GET on a kept-alive connection the server closed while idle is sent once more', async () => {
    let calls = 0;
    const fetch = fakeFetch(() => ({
      body: {
        path: 'project/app/key',
        env: 'dev',
        version: 1,
        value: 'v1',
        description: 'Key for the retry test of the client transport',
        createdAt: '2026-01-01T00:00:00.000Z',
      },
    }));
    const client = createClient({
      url: URL_,
      token: TOKEN,
      fetch: async (url, init) => {
        calls++;
        if (calls === 1) throw closedWhileIdle();
        return fetch(url, init);
      },
    });
    const got = await client.getSecret('project/app/key', { env: 'dev' });
    expect(got.value).toBe('v1');
    expect(calls).toBe(2);
  });

  it('a GET is resent once only, and a write never (the server may have applied it)', async () => {
    let calls = 0;
    const client = createClient({
      url: URL_,
      token: TOKEN,
      fetch: async () => {
        calls++;
        throw closedWhileIdle();
      },
    });
    const read = await failure(client.getSecret('project/app/key'));
    expect(read.code).toBe('SERVER_UNREACHABLE');
    expect(calls).toBe(2);
    calls = 0;
    const write = await failure(client.setSecret('project/app/key', 'hunter2-value'));
    expect(write.code).toBe('SERVER_UNREACHABLE');
    expect(write.message).not.toContain('hunter2-value');
    expect(calls).toBe(1);
  });

  it('a request that outlives timeoutMs is SERVER_UNREACHABLE', async () => {
    const client = createClient({
      url: URL_,
      token: TOKEN,
      timeoutMs: 20,
      fetch: (_url, init) =>
        new Promise((_resolve, reject) => {
          init.signal.addEventListener('abort', () => reject(init.signal.reason));
        }),
    });
    const err = await failure(client.health());
    expect(err.code).toBe('SERVER_UNREACHABLE');
    expect(err.message).toContain('no answer');
  });
});

describe('error bodies from a hostile or broken server (property)', () => {
  const leaky = fc.constantFrom(TOKEN, SECRET_PART, `Bearer ${TOKEN}`);
  const text = fc.oneof(
    fc.string(),
    fc.tuple(fc.string(), leaky, fc.string()).map(([a, b, c]) => a + b + c),
  );
  const body = fc.oneof(
    fc.anything(),
    fc.record(
      {
        code: fc.oneof(fc.constantFrom(...ERROR_CODES), fc.string(), fc.integer()),
        message: fc.oneof(text, fc.anything()),
        hint: fc.oneof(text, fc.anything()),
        requestId: fc.oneof(text, fc.anything()),
      },
      { requiredKeys: [] },
    ),
  );

  it('always give a CofferError with a known code and no trace of the token', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 300, max: 599 }),
        fc.oneof(
          body.map((b) => ({ body: b })),
          text.map((t) => ({ text: t })),
        ),
        fc.option(text, { nil: undefined }),
        async (status, answer, retryAfter) => {
          const client = createClient({
            url: URL_,
            token: TOKEN,
            fetch: fakeFetch(() => ({
              status,
              ...answer,
              headers: retryAfter === undefined ? {} : { 'retry-after': retryAfter },
            })),
          });
          const err = await failure(client.getSecret('project/app/key'));
          expect(ERROR_CODES).toContain(err.code);
          expect(errorClassOf(err.code)).toBe(err.errorClass);
          const shown = `${err.message}\n${err.hint ?? ''}`;
          expect(shown).not.toContain(SECRET_PART);
          expect(err.message).not.toMatch(/[\p{Cc}\p{Cf}]/u);
          expect(err.message.length).toBeLessThan(700);
          expect(err.hint ?? '').not.toMatch(/[\p{Cc}\p{Cf}]/u);
          expect((err.hint ?? '').length).toBeLessThan(700);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('random 2xx bodies never crash a typed method', async () => {
    await fc.assert(
      fc.asyncProperty(fc.anything(), async (answer) => {
        const client = answering(200, answer);
        for (const call of [
          () => client.getSecret('project/app/key'),
          () => client.listSecrets(),
          () => client.verify('project/app/key'),
          () => client.auditVerify(),
          () => client.readProject('app'),
        ]) {
          const r = await call().then(
            () => undefined,
            (e: unknown) => e,
          );
          if (r !== undefined) expect((r as CofferError).code).toBe('SERVER_BAD_RESPONSE');
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('with the global fetch and a real socket', () => {
  let server: Server;
  let url: string;
  const seen: { auth?: string | undefined; url?: string | undefined }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ auth: req.headers.authorization, url: req.url });
      if (req.url?.startsWith('/moved')) {
        res.writeHead(302, { location: 'http://127.0.0.1:9/elsewhere' }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('sends the bearer token and reads the answer', async () => {
    expect(await createClient({ url, token: TOKEN }).health()).toEqual({ ok: true });
    expect(seen.at(-1)).toEqual({ auth: `Bearer ${TOKEN}`, url: '/healthz' });
  });

  it('does not follow a redirect (the token would go along)', async () => {
    const err = await failure(createClient({ url: `${url}/moved`, token: TOKEN }).health());
    expect(err.code).toBe('SERVER_BAD_RESPONSE');
    expect(err.message).toContain('302');
    expect(seen.filter((s) => s.url === '/elsewhere')).toHaveLength(0);
  });

  it('a closed port is SERVER_UNREACHABLE', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const err = await failure(
      createClient({ url: `http://127.0.0.1:${port}`, token: TOKEN }).health(),
    );
    expect(err.code).toBe('SERVER_UNREACHABLE');
    expect(err.message).toContain('ECONNREFUSED');
    expect(err.message).not.toContain(SECRET_PART);
  });
});

describe('createClient: options', () => {
  const fetch = fakeFetch(() => ({ body: { ok: true } }));

  it('refuses URLs that are not http(s), hold credentials, or send a token in clear', () => {
    for (const url of ['not a url', 'ftp://host', 'https://u:p@host', 'https://host/?token=x']) {
      expect(() => createClient({ url, token: TOKEN, fetch }), url).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
    expect(() => createClient({ url: 'http://coffer.internal', token: TOKEN, fetch })).toThrow(
      /clear text/,
    );
    const insecure = createClient({
      url: 'http://coffer.internal',
      token: TOKEN,
      fetch,
      insecureHttp: true,
    });
    expect(insecure.url).toBe('http://coffer.internal');
    expect(createClient({ url: 'http://127.0.0.2:1/', token: TOKEN, fetch }).url).toBe(
      'http://127.0.0.2:1',
    );
  });

  it('refuses a token with spaces or control characters without showing it', () => {
    const bad = 'coffer_id_secret-part-that-must-stay-hidden\n';
    let caught: unknown;
    try {
      createClient({ url: 'http://localhost', token: bad, fetch });
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(String((caught as Error).message)).not.toContain('secret-part');
    expect(() => createClient({ url: 'http://localhost', token: '', fetch })).toThrow();
  });
});
