/**
 * A fake fetch for `coffer/client` tests: records each request and answers with whatever the
 * test's handler returns, without a socket.
 */
import type { FetchFunction, FetchInit } from '../../src/client/transport.js';

export interface SeenRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  /** The parsed JSON body, or undefined. */
  body: unknown;
  init: FetchInit;
}

export interface FakeAnswer {
  status?: number;
  /** Sent as JSON unless `text` is given. */
  body?: unknown;
  text?: string;
  headers?: Record<string, string>;
}

export type FakeHandler = (req: SeenRequest) => FakeAnswer | Promise<FakeAnswer>;

export function fakeFetch(handler: FakeHandler): FetchFunction & { seen: SeenRequest[] } {
  const seen: SeenRequest[] = [];
  const fn = async (url: string, init: FetchInit) => {
    const req: SeenRequest = {
      method: init.method,
      url: new URL(url),
      headers: init.headers,
      body: init.body === undefined ? undefined : JSON.parse(init.body),
      init,
    };
    seen.push(req);
    const a = await handler(req);
    const headers = new Map(Object.entries(a.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    return {
      status: a.status ?? 200,
      headers: { get: (name: string) => headers.get(name.toLowerCase()) ?? null },
      text: async () => a.text ?? JSON.stringify(a.body ?? null),
    };
  };
  return Object.assign(fn, { seen });
}
