/**
 * The request routes of `coffer serve`, in process: the open-request cap through
 * `POST /v1/requests` (per token and freed by an answer).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { expectError, type Kit, makeKit } from '../../../test/helpers/server-kit.js';
import { MAX_OPEN_REQUESTS } from '../../core/requests/secret-requests.js';

let kit: Kit;
afterEach(async () => {
  await kit.dispose();
});

const ask = (i: number) => ({
  keyPath: `project/app/openai_key_${i}`,
  description: 'OpenAI key for the summariser job',
});

describe('POST /v1/requests: open requests are capped per token', () => {
  it('429 RATE_LIMITED past MAX_OPEN_REQUESTS waiting for one token; other tokens still ask; a withdrawn one frees its slot', async () => {
    kit = await makeKit({ publicUrl: 'https://coffer.example.com' });
    const ids: string[] = [];
    for (let i = 0; i < MAX_OPEN_REQUESTS; i++) {
      const a = await kit.send('POST', '/v1/requests', { token: kit.tokens.app, body: ask(i) });
      expect(a.status).toBe(201);
      ids.push((a.json.request as { id: string }).id);
    }
    const refused = await kit.send('POST', '/v1/requests', {
      token: kit.tokens.app,
      body: ask(99),
    });
    expectError(refused, 429, 'RATE_LIMITED');
    expect(refused.json.message).toContain('secret requests are already waiting for the user');
    const other = await kit.send('POST', '/v1/requests', { token: kit.tokens.write, body: ask(0) });
    expect(other.status).toBe(201);
    const withdrawn = await kit.send('POST', `/v1/requests/${ids[0]}/decline`, {
      token: kit.tokens.app,
    });
    expect(withdrawn.status).toBe(200);
    const again = await kit.send('POST', '/v1/requests', { token: kit.tokens.app, body: ask(99) });
    expect(again.status).toBe(201);
  });
});
