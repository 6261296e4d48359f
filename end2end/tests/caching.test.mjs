// Caching as a visitor's browser lives it: the anonymous programme comes from the server's page
// cache and still hydrates (its scripts allowed by hash), the site's files carry their content hash
// and are kept a year, so a second visit downloads no JS or WASM; pages are always revalidated.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, openHydrated, BASE_URL } from '../helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const scripts = (page) => page.evaluate(() => performance.getEntriesByType('resource')
  .filter((e) => /\.(js|wasm)$/.test(new URL(e.name).pathname))
  .map((e) => ({ url: new URL(e.name).pathname, transferred: e.transferSize })));

test('a second visit transfers no JS or WASM, and cached pages still hydrate', async () => {
  // Filled by one anonymous visit, served from memory to the next ones.
  const warm = await fetch(`${BASE_URL}/`);
  assert.equal(warm.status, 200);
  const html = await warm.text();
  assert.equal(warm.headers.get('cache-control'), 'no-cache', 'pages are revalidated');
  const wasm = html.match(/\/pkg\/tessera\.[A-Za-z0-9_-]{22}\.wasm/)?.[0];
  assert.ok(wasm, 'the page links a WASM named by its hash');
  const file = await fetch(`${BASE_URL}${wasm}`, { headers: { 'accept-encoding': 'br, gzip' } });
  assert.equal(file.status, 200);
  assert.equal(file.headers.get('cache-control'), 'public, max-age=31536000, immutable');

  const page = await newPage(browser, { phone: true });
  await openHydrated(page, '/');
  const csp = (await page.context().request.get('/')).headers()['content-security-policy'];
  assert.match(csp, /'sha256-/, 'the page came from the page cache');
  const first = await scripts(page);
  assert.ok(first.some((s) => s.url.endsWith('.wasm') && s.transferred > 0), JSON.stringify(first));

  // A second visit in the same browser: the page is asked again, its files are not.
  await page.goto('/tickets');
  await openHydrated(page, '/');
  const second = await scripts(page);
  assert.ok(second.length >= 2, JSON.stringify(second));
  assert.deepEqual(second.filter((s) => s.transferred > 0), [], 'nothing downloaded again');
  // Hydrated, so it works: a filter applies without a page load.
  await page.locator('[data-filter="theme"] a.chip', { hasText: 'Tech' }).click();
  await page.waitForURL(/\?theme=Tech$/);
  assert.deepEqual(page.errors, [], 'no errors (a script blocked by the CSP would say so)');
});
