/**
 * The app on a real socket (port 0): the TLS policy of `checkBinding`, HTTPS with a
 * certificate, the client address from the TCP peer, and graceful shutdown (what SIGTERM
 * runs in `coffer serve`): in-flight requests finish, new connections are refused, idle
 * keep-alive connections are closed, and after the grace time the rest is cut.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { hasMkfifo, makeFifo, startFifoWriter } from '../../test/helpers/fifo.js';
import { auditRecords, makeKit, seed } from '../../test/helpers/server-kit.js';
import { CofferError } from '../core/errors.js';
import { isLoopback } from '../core/loopback.js';
import { checkLimits } from './connection-guards.js';
import type { AppEnv } from './context.js';
import { checkBinding, startServer } from './http-server.js';

interface Reply {
  status: number;
  body: string;
}

/** One request on its own connection (or on `agent`), read to the end. */
function request(url: string, options: https.RequestOptions = {}): Promise<Reply> {
  const lib = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.get(url, { agent: false, ...options }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** An app with a route that answers only when the test says so. */
function slowApp() {
  const entered = deferred();
  const release = deferred();
  const app = new Hono<AppEnv>();
  app.get('/slow', async (c) => {
    entered.resolve();
    await release.promise;
    return c.json({ done: true });
  });
  app.get('/fast', (c) => c.json({ fast: true }));
  return { app, entered: entered.promise, release: release.resolve };
}

describe('checkBinding', () => {
  it('serves plain HTTP on loopback only, unless told otherwise with a warning', () => {
    for (const host of ['127.0.0.1', '127.8.9.10', 'localhost', '::1', '[::1]', 'LOCALHOST']) {
      expect(isLoopback(host)).toBe(true);
      expect(checkBinding({ host, port: 8700 })).toBeUndefined();
    }
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'example.com', '127.0.0.1.nip.io']) {
      expect(isLoopback(host)).toBe(false);
      let err: unknown;
      try {
        checkBinding({ host, port: 8700 });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CofferError);
      expect((err as CofferError).code).toBe('USAGE');
      expect((err as CofferError).message).toMatch(/refusing to serve plain HTTP/);
      expect((err as CofferError).hint).toMatch(/--tls-cert.*--insecure-http/);
      const warning = checkBinding({ host, port: 8700, insecureHttp: true });
      expect(warning).toMatch(/plain HTTP.*clear text/);
      expect(checkBinding({ host, port: 8700, tlsCert: 'c.pem', tlsKey: 'k.pem' })).toBeUndefined();
    }
  });

  it('refuses half a TLS pair and a port out of range', () => {
    const usage = (b: Parameters<typeof checkBinding>[0]) => {
      expect(() => checkBinding(b)).toThrow(CofferError);
    };
    usage({ host: '127.0.0.1', port: 1, tlsCert: 'c.pem' });
    usage({ host: '127.0.0.1', port: 1, tlsKey: 'k.pem' });
    for (const port of [-1, 65536, 1.5, Number.NaN]) usage({ host: '127.0.0.1', port });
  });
});

describe('startServer', () => {
  it('serves the app on port 0 and sees the client address of the TCP peer', async () => {
    const kit = await makeKit();
    const server = await startServer(kit.app, { host: '127.0.0.1', port: 0 });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await request(`${server.url}/healthz`)).toEqual({ status: 200, body: '{"ok":true}' });
      const denied = await request(`${server.url}/v1/secrets`, {
        headers: { authorization: `Bearer ${kit.tokens.read}`, 'x-forwarded-for': '6.6.6.6' },
      });
      expect(denied.status).toBe(403);
      const [rec] = (await auditRecords(kit)).filter((r) => r.outcome === 'denied');
      expect(rec).toMatchObject({ actor: 'token:reader@127.0.0.1', action: 'list' });
    } finally {
      await server.close();
      await kit.dispose();
    }
  });

  it('a port in use is an IO_ERROR naming the address, not a crash', async () => {
    const { app } = slowApp();
    const first = await startServer(app, { host: '127.0.0.1', port: 0 });
    try {
      const port = Number(new URL(first.url).port);
      await expect(startServer(app, { host: '127.0.0.1', port })).rejects.toMatchObject({
        code: 'IO_ERROR',
        message: expect.stringContaining(`127.0.0.1:${port}`),
      });
    } finally {
      await first.close();
    }
  });

  it('a missing TLS file is an IO_ERROR', async () => {
    const { app } = slowApp();
    await expect(
      startServer(app, { host: '127.0.0.1', port: 0, tlsCert: '/nonexistent/c', tlsKey: '/x' }),
    ).rejects.toMatchObject({ code: 'IO_ERROR' });
  });

  it('a TLS file past 1 MiB, or /dev/zero, is refused naming it and the limit; a directory is EISDIR', async () => {
    const { app } = slowApp();
    const dir = mkdtempSync(join(tmpdir(), 'coffer-tls-'));
    try {
      const huge = join(dir, 'key.pem');
      writeFileSync(huge, '-----BEGIN PRIVATE KEY-----\n');
      truncateSync(huge, 1024 * 1024 + 1); // sparse: nothing is really written
      for (const [tlsCert, tlsKey, said] of [
        [join(dir, 'c.pem'), huge, `${huge} is larger than 1 MiB, the limit for a TLS key`],
        ['/dev/zero', huge, '/dev/zero is larger than 1 MiB, the limit for a TLS certificate'],
      ] as const) {
        writeFileSync(join(dir, 'c.pem'), '-----BEGIN CERTIFICATE-----\n');
        await expect(
          startServer(app, { host: '127.0.0.1', port: 0, tlsCert, tlsKey }),
        ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: said });
      }
      await expect(
        startServer(app, { host: '127.0.0.1', port: 0, tlsCert: dir, tlsKey: huge }),
      ).rejects.toMatchObject({
        code: 'IO_ERROR',
        message: `cannot read the TLS certificate ${dir} (EISDIR)`,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
  if (!hasOpenssl) console.warn('http-server.test.ts: no openssl; the HTTPS test is skipped');
  it.skipIf(!hasOpenssl)('serves HTTPS with --tls-cert/--tls-key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-tls-'));
    try {
      const cert = join(dir, 'cert.pem');
      const key = join(dir, 'key.pem');
      const made = spawnSync('openssl', [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'],
        ...['-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext'],
        ...['subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert],
      ]);
      expect(made.status).toBe(0);
      const { app } = slowApp();
      // The key through a pipe, as `--tls-key <(vault read ...)` gives it: read to its end.
      const pem = readFileSync(key, 'utf8');
      const pipe = hasMkfifo ? makeFifo(dir, 'key.fifo') : undefined;
      const writer = pipe === undefined ? undefined : await startFifoWriter(pipe, pem, pem.length);
      let server: Awaited<ReturnType<typeof startServer>>;
      try {
        server = await startServer(app, {
          host: '127.0.0.1',
          port: 0,
          tlsCert: cert,
          tlsKey: pipe ?? key,
        });
      } finally {
        writer?.stop();
      }
      try {
        expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
        const reply = await request(`${server.url}/fast`, { ca: readFileSync(cert) });
        expect(reply).toEqual({ status: 200, body: '{"fast":true}' });
        await expect(request(`${server.url}/fast`)).rejects.toThrow(/self.signed|certificate/i);
      } finally {
        await server.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Writes `data` on a fresh TCP connection and reads until the server closes it. */
function rawRequest(port: number, data: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(data));
    let out = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      out += d;
      // one answer is all a test needs; a kept-alive connection is closed here
      if (/\r\n\r\n/.test(out) && /content-length: (\d+)/i.test(out)) {
        const length = Number(/content-length: (\d+)/i.exec(out)![1]);
        if (out.length - out.indexOf('\r\n\r\n') - 4 >= length) socket.end();
      }
    });
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
  });
}

/** Status and JSON body of a raw HTTP/1.1 answer. */
function parseRaw(text: string): {
  status: number;
  headers: string;
  body: Record<string, unknown>;
} {
  const split = text.indexOf('\r\n\r\n');
  const head = text.slice(0, split);
  return {
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]),
    headers: head.toLowerCase(),
    body: JSON.parse(text.slice(split + 4)) as Record<string, unknown>,
  };
}

describe('requests too malformed to reach the app', () => {
  it('get a 4xx with the error shape, and the server keeps serving', async () => {
    const kit = await makeKit();
    const server = await startServer(kit.app, { host: '127.0.0.1', port: 0 });
    const port = Number(new URL(server.url).port);
    const line = (path: string | Buffer) =>
      Buffer.concat([
        Buffer.from('GET '),
        Buffer.from(path),
        Buffer.from(' HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'),
      ]);
    const put =
      'PUT /v1/secrets/project/app/x HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n';
    const cases: [string, string | Buffer, number][] = [
      ['bad UTF-8 bytes in the path', line(Buffer.from([0x2f, 0x76, 0x31, 0x2f, 0xff, 0xfe])), 400],
      ['a control character in the path', line('/v1/secrets/\u0001'), 400],
      ['no Host header', 'GET /healthz HTTP/1.1\r\n\r\n', 400],
      ['an invalid Host header', 'GET /healthz HTTP/1.1\r\nHost: a b\r\n\r\n', 400],
      ['an asterisk target', 'GET * HTTP/1.1\r\nHost: h\r\n\r\n', 400],
      [
        'Content-Length with Transfer-Encoding',
        `${put}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
        400,
      ],
      ['a non-numeric Content-Length', `${put}Content-Length: abc\r\n\r\n`, 400],
      ['not HTTP at all', '\u0000\u0001\u0002 hello\r\n\r\n', 400],
      [
        'oversized headers',
        `GET /healthz HTTP/1.1\r\nHost: h\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
        431,
      ],
    ];
    try {
      for (const [what, data, status] of cases) {
        const answer = parseRaw(await rawRequest(port, data));
        expect([what, answer.status]).toEqual([what, status]);
        expect(answer.headers).toContain('content-type: application/json');
        expect(Object.keys(answer.body).sort()).toEqual(['code', 'message', 'requestId']);
        expect(answer.headers).toContain(`x-request-id: ${answer.body.requestId}`);
        expect([what, answer.headers]).toEqual([
          what,
          expect.stringContaining('cache-control: no-store'),
        ]);
      }
      // path traversal over the wire reaches the app and is answered by it
      const traversal = parseRaw(
        await rawRequest(port, line('/v1/secrets/project/app/../../../etc/passwd')),
      );
      expect(traversal.status).toBe(401);
      expect(traversal.headers).toContain('cache-control: no-store');
      expect(await request(`${server.url}/healthz`)).toEqual({ status: 200, body: '{"ok":true}' });
    } finally {
      await server.close();
      await kit.dispose();
    }
  });
});

describe('graceful shutdown (SIGTERM in coffer serve)', () => {
  it('finishes the requests in flight, refuses new connections, then resolves', async () => {
    const { app, entered, release } = slowApp();
    const server = await startServer(app, { host: '127.0.0.1', port: 0 });
    const inFlight = request(`${server.url}/slow`);
    await entered;
    let closed = false;
    const closing = server.close(60_000).then(() => {
      closed = true;
    });
    await expect(request(`${server.url}/fast`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(closed).toBe(false);
    release();
    expect(await inFlight).toEqual({ status: 200, body: '{"done":true}' });
    await closing;
    expect(closed).toBe(true);
    // close is idempotent
    await server.close();
  });

  it('closes idle keep-alive connections without waiting for the grace time', async () => {
    const { app } = slowApp();
    const server = await startServer(app, { host: '127.0.0.1', port: 0 });
    const agent = new http.Agent({ keepAlive: true });
    try {
      expect((await request(`${server.url}/fast`, { agent })).status).toBe(200);
      // with a 60 s grace, only closing the idle connection lets this finish in the test timeout
      await server.close(60_000);
    } finally {
      agent.destroy();
    }
  });

  it('cuts a request that outlives the grace time', async () => {
    const { app, entered } = slowApp();
    const server = await startServer(app, { host: '127.0.0.1', port: 0 });
    const stuck = request(`${server.url}/slow`);
    await entered;
    await server.close(50);
    await expect(stuck).rejects.toThrow(/socket hang up|ECONNRESET/);
  });
});

/**
 * Sends `head`, then one `drip` every 50 ms (at most `max` times) until the server closes
 * the connection; resolves with what the server wrote and how long the connection lived.
 */
function dripRequest(
  port: number,
  head: string,
  drip: string,
  max: number,
): Promise<{ answer: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let answer = '';
    let sent = 0;
    const socket = net.connect(port, '127.0.0.1', () => socket.write(head));
    const timer = setInterval(() => {
      if (sent++ < max && socket.writable) socket.write(drip);
    }, 50);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      answer += d;
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ answer, ms: Date.now() - started });
    });
    setTimeout(() => {
      clearInterval(timer);
      socket.destroy();
      reject(new Error('the server kept a slow connection open for 10 s'));
    }, 10_000).unref();
  });
}

describe('slow clients and the connection cap', () => {
  it('checkLimits: the documented defaults, and refuses nonsense', () => {
    expect(checkLimits({})).toEqual({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      maxConnections: 512,
    });
    for (const bad of [
      { headersTimeoutMs: 0 },
      { requestTimeoutMs: 1.5 },
      { headersTimeoutMs: 20_000, requestTimeoutMs: 10_000 },
      { maxConnections: 0 },
    ]) {
      expect(() => checkLimits(bad)).toThrow(CofferError);
    }
  });

  it('cuts slow headers and a slow body at their timeouts, not at node’s 30 s check', async () => {
    const { app } = slowApp();
    app.post('/upload', async (c) => c.json({ got: (await c.req.text()).length }));
    const server = await startServer(
      app,
      { host: '127.0.0.1', port: 0 },
      {
        headersTimeoutMs: 300,
        requestTimeoutMs: 800,
      },
    );
    const port = Number(new URL(server.url).port);
    try {
      // headers that never end: one more header line every 50 ms
      const headers = await dripRequest(
        port,
        'GET /fast HTTP/1.1\r\nHost: h\r\n',
        'X-A: b\r\n',
        150,
      );
      expect(headers.answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(headers.answer).toContain('"code":"INVALID_ARGUMENT"');
      expect(headers.ms).toBeLessThan(5_000);
      // a body that never ends: one byte every 50 ms of 10 000 announced
      const body = await dripRequest(
        port,
        'POST /upload HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\nContent-Length: 10000\r\n\r\n',
        'a',
        150,
      );
      expect(body.ms).toBeLessThan(5_000);
      expect(body.answer).not.toContain('"got"');
      // a connection that sends nothing at all is cut too
      const silent = await dripRequest(port, '', '', 0);
      expect(silent.ms).toBeLessThan(5_000);
      // a prompt client is served
      expect(await request(`${server.url}/fast`)).toEqual({ status: 200, body: '{"fast":true}' });
    } finally {
      await server.close(100);
    }
  });

  it('answers a connection past the cap 503 SERVER_BUSY and closes it; a freed slot serves again', async () => {
    const { app } = slowApp();
    const server = await startServer(app, { host: '127.0.0.1', port: 0 }, { maxConnections: 3 });
    const port = Number(new URL(server.url).port);
    const held: net.Socket[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const socket = net.connect(port, '127.0.0.1');
        socket.on('error', () => undefined);
        await new Promise((resolve) => socket.once('connect', resolve));
        held.push(socket);
      }
      // the server counts a connection once it has accepted it: wait until all three are in
      let busy: ReturnType<typeof parseRaw> | undefined;
      for (let i = 0; i < 100 && busy?.status !== 503; i++) {
        busy = parseRaw(await rawRequest(port, 'GET /fast HTTP/1.1\r\nHost: h\r\n\r\n'));
      }
      expect(busy?.status).toBe(503);
      expect(busy?.body.code).toBe('SERVER_BUSY');
      expect(busy?.headers).toContain('retry-after: 1');
      expect(busy?.headers).toContain('connection: close');
      expect(busy?.headers).toContain('cache-control: no-store');
      expect(Object.keys(busy?.body ?? {}).sort()).toEqual(['code', 'message', 'requestId']);
      held.pop()?.destroy();
      let served: number | undefined;
      for (let i = 0; i < 100 && served !== 200; i++) {
        served = parseRaw(await rawRequest(port, 'GET /fast HTTP/1.1\r\nHost: h\r\n\r\n')).status;
        if (served !== 200) await new Promise((r) => setTimeout(r, 20));
      }
      expect(served).toBe(200);
    } finally {
      for (const socket of held) socket.destroy();
      await server.close(100);
    }
  });
});

describe('--trusted-proxy over a socket', () => {
  it('names the forwarded client in the audit actor and the log, on the hot path and the app', async () => {
    const kit = await makeKit({ trustedProxies: ['127.0.0.0/8'] });
    await seed(kit, 'project/app/db_url', 'v');
    const server = await startServer(
      kit.app,
      { host: '127.0.0.1', port: 0 },
      {
        hotPath: kit.api.hotPath,
      },
    );
    try {
      const get = (xff: string) =>
        request(`${server.url}/v1/secrets/project/app/db_url`, {
          headers: { authorization: `Bearer ${kit.tokens.read}`, 'x-forwarded-for': xff },
        });
      // the first read goes through the app (the token is not cached yet), the next one the hot path
      expect((await get('203.0.113.1, 198.51.100.20')).status).toBe(200);
      expect((await get('198.51.100.21, 127.0.0.9')).status).toBe(200);
      const reads = (await auditRecords(kit)).filter((r) => r.action === 'get');
      expect(reads.map((r) => r.actor)).toEqual([
        'token:reader@198.51.100.20',
        'token:reader@198.51.100.21',
      ]);
      await new Promise((r) => setTimeout(r, 20));
      const addrs = kit.logs.map((l) => (JSON.parse(l) as { addr?: string }).addr);
      expect(addrs).toEqual(expect.arrayContaining(['198.51.100.20', '198.51.100.21']));
    } finally {
      await server.close(100);
      await kit.dispose();
    }
  });
});
