/**
 * The page `coffer ui` opens instead of its login link: it leads to the link and nowhere
 * else, whatever the link holds; only its user can read it (0600 in a 0700 directory); and
 * `remove` leaves nothing behind. The e2e test (test/e2e/ui-command.test.ts) opens it.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { launchPageHtml, writeLaunchPage } from './launch-page.js';

const LINK = 'http://127.8.9.10:41234/login/link/Abc-_0123456789abcdefghijklmnopqrstuvwxyzABC';

const parents: string[] = [];
afterEach(() => {
  for (const dir of parents.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function parent(): string {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-launch-test-'));
  parents.push(dir);
  return dir;
}

describe('launchPageHtml', () => {
  it('goes on to the link by a meta refresh and location.replace, and loads nothing else', () => {
    const html = launchPageHtml(LINK);
    expect(html).toContain(`<meta http-equiv="refresh" content="0;url=${LINK}">`);
    expect(html).toContain(`location.replace("${LINK}")`);
    expect(html).toContain(`<a href="${LINK}">`);
    // no resource from anywhere: the only URL in the page is the link
    const urls = html.match(/https?:\/\/[^\s"'<>)]+/g) ?? [];
    expect(new Set(urls)).toEqual(new Set([LINK]));
    expect(html).not.toMatch(/<(?:link|img|iframe)\b|src=/);
  });

  it('escapes what a link cannot break out of the attribute or the script with', () => {
    const odd = `http://h/"><script>alert(1)</script>'&</script>`;
    const html = launchPageHtml(odd);
    expect(html.match(/<script>/g)).toHaveLength(1);
    expect(html.match(/<\/script>/g)).toHaveLength(1);
    expect(html).toContain('&quot;&gt;&lt;script&gt;');
    const script = /<script>(.*)<\/script>/.exec(html)?.[1] ?? '';
    const arg = /^location\.replace\((.*)\);$/.exec(script)?.[1] ?? '';
    expect(JSON.parse(arg)).toBe(odd);
  });
});

describe('writeLaunchPage', () => {
  it('writes the page 0600 in a fresh 0700 directory, whose path holds nothing of the link', () => {
    const page = writeLaunchPage(LINK, parent());
    try {
      expect(readFileSync(page.path, 'utf8')).toBe(launchPageHtml(LINK));
      if (process.platform !== 'win32') {
        expect(statSync(page.path).mode & 0o777).toBe(0o600);
        expect(statSync(dirname(page.path)).mode & 0o777).toBe(0o700);
      }
      expect(page.path).not.toContain('Abc-_0123');
      expect(page.path).toMatch(/coffer-ui-[^/\\]+[/\\]login\.html$/);
    } finally {
      page.remove();
    }
  });

  it('remove deletes the page and its directory, and may be called again', () => {
    const page = writeLaunchPage(LINK, parent());
    page.remove();
    expect(existsSync(page.path)).toBe(false);
    expect(existsSync(dirname(page.path))).toBe(false);
    page.remove();
  });

  it('two pages never share a directory', () => {
    const at = parent();
    const a = writeLaunchPage(LINK, at);
    const b = writeLaunchPage(LINK, at);
    expect(dirname(a.path)).not.toBe(dirname(b.path));
    a.remove();
    expect(existsSync(b.path)).toBe(true);
    b.remove();
  });
});
