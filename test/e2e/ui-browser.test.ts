/**
 * The web UI in a real browser: Debian's Chromium driven by playwright-core
 * (test/helpers/browser.ts), one browser for the file, against an in-process server on a
 * loopback port.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../src/server/http-server.js';
import { launchChromium } from '../helpers/browser.js';
import { makeTestServer, type TestServer } from '../helpers/server.js';

let browser: Browser;
let server: TestServer;
let running: RunningServer;

beforeAll(async () => {
  server = await makeTestServer();
  running = await startServer(server.app, { host: '127.0.0.1', port: 0 });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await running?.close();
  await server?.storage.close();
});

describe('browser', () => {
  it('Chromium reaches the server', async () => {
    const page = await browser.newPage();
    const res = await page.goto(`${running.url}/healthz`);
    expect(res?.status()).toBe(200);
    expect(await page.textContent('body')).toContain('"ok":true');
    await page.close();
  });
});
