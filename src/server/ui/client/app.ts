/**
 * The web UI's script (bundled by scripts/build.mjs into dist/ui/app.js): reveal and copy on
 * a secret's page. A value is fetched only on a click on Reveal (a POST with the session's
 * CSRF token; the server audits it), shown as text, and removed from the page after the
 * page's reveal time, on Hide, and when the page is left. Pages work without it for reading.
 */
const csrf = document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? '';

for (const box of document.querySelectorAll<HTMLElement>('[data-reveal-url]')) {
  const reveal = box.querySelector<HTMLButtonElement>('.js-reveal');
  const copy = box.querySelector<HTMLButtonElement>('.js-copy');
  const out = box.querySelector<HTMLElement>('.js-value');
  const status = box.querySelector<HTMLElement>('.js-status');
  const url = box.dataset.revealUrl;
  if (reveal === null || copy === null || out === null || status === null || url === undefined) {
    continue;
  }
  box.querySelector('.js-nojs')?.remove();
  const ms = Number(box.dataset.revealMs) || 30_000;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const hide = (): void => {
    clearTimeout(timer);
    out.textContent = '';
    out.hidden = true;
    copy.hidden = true;
    reveal.textContent = 'Reveal';
    reveal.setAttribute('aria-expanded', 'false');
  };

  reveal.hidden = false;
  reveal.setAttribute('aria-expanded', 'false');
  reveal.addEventListener('click', async () => {
    if (!out.hidden) {
      hide();
      status.textContent = 'Hidden.';
      return;
    }
    status.textContent = 'Fetching…';
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'x-csrf-token': csrf },
        credentials: 'same-origin',
        cache: 'no-store',
      });
      const body = (await res.json()) as { value?: string; message?: string };
      if (!res.ok || typeof body.value !== 'string') {
        status.textContent = body.message ?? `refused (${res.status})`;
        return;
      }
      out.textContent = body.value;
      out.hidden = false;
      copy.hidden = false;
      reveal.textContent = 'Hide';
      reveal.setAttribute('aria-expanded', 'true');
      status.textContent = `Shown for ${Math.round(ms / 1000)} s.`;
      timer = setTimeout(() => {
        hide();
        status.textContent = 'Hidden again.';
      }, ms);
    } catch {
      status.textContent = 'The server could not be reached.';
    }
  });

  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(out.textContent ?? '');
      status.textContent = 'Copied.';
    } catch {
      status.textContent = 'Copying is not allowed here; select the value instead.';
    }
  });

  addEventListener('pagehide', hide);
}
