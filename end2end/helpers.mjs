// Shared helpers of the end-to-end tests: Debian's Chromium through playwright-core.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const here = dirname(fileURLToPath(import.meta.url));
export const BASE_URL = process.env.BASE_URL ?? 'http://127.0.0.1:3000';
export const DEMO_PASSWORD = process.env.DEMO_PASSWORD;

export const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export async function launch(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [...CHROMIUM_FLAGS, ...extraArgs],
  });
}

/** A fresh browser context (own cookies), desktop or phone sized. */
export async function newPage(browser, { phone = false, locale = 'fr-FR', bypassCSP = false, baseURL = BASE_URL } = {}) {
  const context = await browser.newContext({
    bypassCSP,
    viewport: phone ? { width: 390, height: 844 } : { width: 1280, height: 900 },
    locale,
    baseURL,
  });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') page.errors.push(m.text()); });
  return page;
}

/** Opens `path` and waits until the WASM client has hydrated the page. */
export async function openHydrated(page, path) {
  await page.goto(path);
  try {
    await page.waitForSelector('body[data-hydrated="true"]', { timeout: 30000 });
  } catch {
    // Seen once in ~15 runs on a loaded 2-core machine (the debug WASM is ~10 MB). Say so loudly,
    // with what the browser reported, and give the page one more load before failing.
    console.warn(`WARNING: ${path} did not hydrate within 30 s; browser errors: ${JSON.stringify(page.errors)}; reloading once`);
    await page.reload();
    try {
      await page.waitForSelector('body[data-hydrated="true"]', { timeout: 30000 });
    } catch {
      throw new Error(`${path} did not hydrate (twice); browser errors: ${JSON.stringify(page.errors)}`);
    }
  }
}

export async function shot(page, name) {
  const dir = join(here, 'screenshots');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

/** Logs in through the login form and waits for the header to show the account. */
export async function login(page, email, password) {
  await openHydrated(page, '/login');
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', password);
  await page.click('button[type="submit"]');
  await page.waitForSelector(`.account-nav[data-user="${email}"]`);
}

/**
 * Holds back the answers of server function `fn`: each request reaches the server at once, its
 * answer waits until `release()`. `landed` resolves when the server has answered the first one;
 * `sent(name)` counts the requests made since to server function `name`.
 */
export async function holdAnswers(page, fn) {
  let landed, release;
  const hasLanded = new Promise((r) => { landed = r; });
  const gate = new Promise((r) => { release = r; });
  const seen = [];
  page.on('request', (r) => seen.push(new URL(r.url()).pathname));
  await page.route(`**/api/${fn}*`, async (route) => {
    const answer = await route.fetch();
    landed();
    await gate;
    await route.fulfill({ response: answer });
  });
  return { landed: hasLanded, release, sent: (name) => seen.filter((p) => p === `/api/${name}`).length };
}

/** Clicks a cell of a table edited in place, types `value` and presses Enter, as an admin saves it. */
export async function typeIn(cell, value) {
  await cell.click();
  await cell.locator('input').fill(value);
  await cell.locator('input').press('Enter');
}

/**
 * Saves `value` in `cell` of `row`, then clicks `button` (a delete) while that save's answer is
 * held back: made on the server, not yet in the page. Asserts that the click sends nothing to
 * server function `del` before the answer comes (the delete waits for the row's saves and goes
 * with the version they got back), then lets the answer through and waits for the row to go.
 */
export async function deleteDuringSave(page, { save, del, row, cell, value, button }) {
  const held = await holdAnswers(page, save);
  await typeIn(cell, value);
  await held.landed;
  await button.click();
  await page.waitForTimeout(500);
  assert.equal(held.sent(del), 0, 'the delete waits for the answer of the save');
  held.release();
  await row.waitFor({ state: 'detached', timeout: 10000 });
  assert.equal(held.sent(del), 1, 'one delete, sent after the answer');
  await page.unroute(`**/api/${save}*`);
}
