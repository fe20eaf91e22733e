/**
 * The fetch the CLI's remote mode gives `coffer/client`: one request on node:http or
 * node:https. Node's global fetch loads undici on its first call, which more than
 * triples the time of a short command such as `coffer get` (measured: about 200 ms against
 * about 60 ms with node:http on the same machine); applications keep the global fetch.
 *
 * It does what the client asks of a fetch and no more: method, headers and a string body
 * out; status, headers and the body as text back. No redirects are followed (node:http
 * never does), the signal aborts the request, and network errors keep their `code`
 * (ECONNREFUSED, ...) for the client's message.
 */
// Static imports: this module is itself imported lazily (remote mode only), and the CLI
// bundle runs in a vm.Script where a dynamic import() of a built-in is not available.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { FetchInit, FetchResponse } from '../client/transport.js';

function header(res: IncomingMessage, name: string): string | null {
  const v = res.headers[name.toLowerCase()];
  return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
}

export function nodeFetch(url: string, init: FetchInit): Promise<FetchResponse> {
  const target = new URL(url);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      { method: init.method, headers: init.headers, signal: init.signal },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: { get: (name) => header(res, name) },
            text: async () => text,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}
