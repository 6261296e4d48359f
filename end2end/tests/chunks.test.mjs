// Pages in their own WASM chunks (`cargo leptos build --split`): the programme's first download
// holds no back office, and a chunk that fails to download on a flaky network never leaves a dead
// page: opened directly, the page loads it again by itself; reached by a link, the person is told,
// and after a reload the link works.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, openHydrated, login, shot, DEMO_PASSWORD } from '../helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const CHUNK = /\/pkg\/(split_|chunk_)[^/]*\.wasm$/;

/** Makes the first download of the page's chunks fail (connection reset), later ones go through. */
async function failOnce(page) {
  const failed = new Set();
  await page.route(CHUNK, (route) => {
    const url = route.request().url();
    if (failed.has(url)) return route.continue();
    failed.add(url);
    return route.abort('connectionreset');
  });
  return failed;
}

test('the programme downloads no page chunk; the back office comes in its own', async () => {
  const page = await newPage(browser);
  const chunks = [];
  page.on('request', (r) => { if (CHUNK.test(new URL(r.url()).pathname)) chunks.push(r.url()); });
  await openHydrated(page, '/');
  assert.deepEqual(chunks, [], 'the programme needs no chunk');
  await login(page, 'admin@tessera.localhost', DEMO_PASSWORD);
  await page.click('a[href="/admin"]');
  await page.waitForURL(/\/admin$/);
  await page.locator('.admin-nav, h1').first().waitFor();
  assert.ok(chunks.some((u) => /split___admin_dashboard_view/.test(u)), JSON.stringify(chunks));
  assert.deepEqual(page.errors, []);
});

test('a chunk that fails once: opened directly the page recovers, reached by a link a reload does', async () => {
  const page = await newPage(browser, { phone: true });
  await login(page, 'admin@tessera.localhost', DEMO_PASSWORD);

  // Reached by a link: the failed download stops the client; the person is told, and reloads.
  await openHydrated(page, '/');
  const failed = await failOnce(page);
  await page.click('a[href="/admin"]');
  const notice = page.locator('#reload-notice[role="alert"]');
  await notice.waitFor({ timeout: 30000 });
  assert.match(await notice.textContent(), /cessé de répondre/);
  assert.ok(failed.size > 0, 'a chunk download failed');
  await shot(page, 'chunk-failed-notice');
  // The reload brings back the page they were on, working again; the link now opens the admin.
  // The network is back (chunks the first attempt never reached would otherwise fail once more
  // on the reloaded page). The old page's body is marked hydrated too: wait for the new document.
  await page.unroute(CHUNK);
  assert.equal(await notice.locator('a').getAttribute('href'), page.url(), 'the link reloads this page');
  await page.reload();
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 30000 });
  assert.equal(await page.locator('#reload-notice').count(), 0, `${page.url()} ${JSON.stringify(page.errors)}`);
  await page.click('a[href="/admin"]');
  await page.waitForURL(/\/admin$/);
  await page.locator('.admin-nav, h1').first().waitFor();
  assert.equal(await page.locator('#reload-notice').count(), 0);

  // Opened directly: the preload fails, the page downloads its chunk again and hydrates.
  const direct = await newPage(browser, { phone: true });
  await login(direct, 'admin@tessera.localhost', DEMO_PASSWORD);
  const failedDirect = await failOnce(direct);
  await openHydrated(direct, '/admin/tickets');
  assert.ok(failedDirect.size > 0, 'a chunk download failed');
  assert.equal(await direct.locator('#reload-notice').count(), 0, 'no notice: the page recovered');
  // It works: the passes table is there and editable.
  await direct.locator('table').first().waitFor();
});
