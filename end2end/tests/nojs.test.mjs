// Progressive enhancement: with JavaScript off, the server-rendered forms still work.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, BASE_URL, DEMO_PASSWORD } from '../helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('without JavaScript: log in, see a wrong password refused, filter the programme', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false, baseURL: BASE_URL, locale: 'fr-FR' });
  const page = await context.newPage();
  await page.goto('/login');
  await page.fill('input[name="email"]', 'attendee@tessera.localhost');
  await page.fill('input[name="password"]', 'pas le bon mot de passe');
  await page.click('button[type="submit"]');
  await page.waitForLoadState();
  assert.match(await page.locator('.form-error').textContent(), /Adresse e-mail ou mot de passe incorrect/);

  await page.fill('input[name="email"]', 'attendee@tessera.localhost');
  await page.fill('input[name="password"]', DEMO_PASSWORD);
  await page.click('button[type="submit"]');
  await page.waitForSelector('.account-nav[data-user="attendee@tessera.localhost"]');

  await page.goto('/');
  await page.click('[data-filter="theme"] a.chip:has-text("Tech")');
  await page.waitForURL(/\?theme=Tech$/);
  const themes = await page.locator('.talk-card .talk-theme').allTextContents();
  assert.deepEqual([...new Set(themes)], ['Tech']);
  await context.close();
});
