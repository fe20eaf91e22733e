/**
 * The browser of the web UI's tests: Debian's Chromium driven by playwright-core, headless,
 * never a downloaded browser (.ci/run installs the `chromium` package when it is missing).
 * A machine without it fails the browser tests with what to install, never skips them.
 *
 * `axeViolations` runs axe-core (from node_modules) in a page and returns the serious and
 * critical violations, as `rule: target` lines.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `the browser tests need Debian's Chromium at ${CHROMIUM_PATH}: apt-get install -y chromium`,
    );
  }
  const root = process.getuid?.() === 0;
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: root ? ['--no-sandbox'] : [],
  });
}

const AXE_PATH = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/**
 * The serious and critical axe-core violations of the page as it is now. axe is added with
 * `page.addScriptTag`, which a strict CSP refuses: call it in a context made with
 * `bypassCSP: true`.
 */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE_PATH });
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(): Promise<AxeResults> } }).axe;
    interface AxeResults {
      violations: { id: string; impact: string | null; nodes: { target: unknown[] }[] }[];
    }
    const r = await axe.run();
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      targets: v.nodes.map((n) => JSON.stringify(n.target)),
    }));
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.targets.join(' ')}`);
}
