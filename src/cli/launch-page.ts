/**
 * The page `coffer ui` opens in the browser instead of its one-time login link: a small HTML
 * file that sends the browser on to the link (a meta refresh, and `location.replace` so the
 * page does not stay in the history), so that only the file's path is in the argv of the
 * launcher (`xdg-open`, `open`, `cmd /c start`) and of the browser. Any local user can read
 * a process's argv (`ps`, /proc/PID/cmdline); the link in it would give them the session.
 * This is what Jupyter does with its token.
 *
 * The file is mode 0600 in a directory of its own made by mkdtemp (0700) under the system's
 * temp directory, so that only this user can list or read it; `remove` deletes both, and is
 * called once the link is used, when it expires and at exit. The page loads nothing but
 * the link: no script or style from anywhere else.
 *
 * Not handled: a browser confined by a sandbox that cannot read the temp directory (a snap
 * or flatpak browser) shows an error instead of the login; the link printed on the terminal
 * still works.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface LaunchPage {
  /** The file to open: it holds the link, the path does not. */
  path: string;
  /** Deletes the file and its directory; safe to call more than once. */
  remove(): void;
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]!);
}

/** The page: goes on to `link` at once (meta refresh, then script), with a link to click. */
export function launchPageHtml(link: string): string {
  const attr = escapeHtml(link);
  // JSON is a JS string literal; `<` escaped so no `</script>` can end the element.
  const js = JSON.stringify(link).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<meta http-equiv="refresh" content="0;url=${attr}">
<title>coffer ui</title>
<script>location.replace(${js});</script>
</head>
<body>
<p>Opening coffer ui. If nothing happens, <a href="${attr}">follow this link</a>.</p>
</body>
</html>
`;
}

/** Writes the page for `link` in a fresh private directory under `parent` (default: tmpdir). */
export function writeLaunchPage(link: string, parent: string = tmpdir()): LaunchPage {
  const dir = mkdtempSync(join(parent, 'coffer-ui-'));
  const path = join(dir, 'login.html');
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // already gone, or the temp directory went away: nothing is left to read
    }
  };
  try {
    // 'wx': a new file, never one put there before (the directory is ours alone anyway)
    writeFileSync(path, launchPageHtml(link), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    remove();
    throw err;
  }
  return { path, remove };
}
