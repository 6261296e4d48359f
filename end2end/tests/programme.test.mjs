// The public programme in a real browser: hydration, filters without a page load, a talk's page,
// switching language.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, openHydrated, shot } from '../helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('filtering by theme changes the URL and the talks without a page load', async () => {
  const page = await newPage(browser);
  await openHydrated(page, '/');
  const all = await page.locator('.talk-card').count();
  assert.ok(all >= 30, `${all} talks on the programme`);
  await shot(page, 'programme-fr');

  // A marker on window survives client-side navigation, not a page load.
  await page.evaluate(() => { window.__noReload = true; });
  await page.locator('[data-filter="theme"] a.chip', { hasText: 'Tech' }).click();
  await page.waitForURL(/\?theme=Tech$/);
  await page.waitForFunction((n) => document.querySelectorAll('.talk-card').length < n, all);
  const themes = await page.locator('.talk-card .talk-theme').allTextContents();
  assert.ok(themes.length > 3, `${themes.length} Tech talks`);
  assert.deepEqual([...new Set(themes)], ['Tech']);
  assert.equal(await page.evaluate(() => window.__noReload), true, 'the filter reloaded the page');

  // Day filter combines with the theme; both are in the URL, so the view can be shared.
  await page.locator('[data-filter="day"] a.chip', { hasText: 'vendredi 11 juin' }).click();
  await page.waitForURL(/theme=Tech&day=2027-06-11/);
  await page.waitForFunction(() => !document.body.textContent.includes('jeudi 10 juin') || document.querySelectorAll('section.day').length === 1);
  assert.equal(await page.locator('section.day').count(), 1);
  await shot(page, 'programme-filtered');

  // The shared URL renders the same view on its own.
  const shared = await newPage(browser);
  await shared.goto(page.url());
  assert.equal(await shared.locator('.talk-card').count(), await page.locator('.talk-card').count());
  assert.deepEqual(page.errors, [], 'no errors in the console');
});

test('a talk opens on its own page with room, speaker and times', async () => {
  const page = await newPage(browser);
  await openHydrated(page, '/');
  const card = page.locator('.talk-card', { hasText: 'Rust en production' });
  await card.locator('a.talk-link').click();
  await page.waitForURL(/\/talks\/[0-9a-f-]{36}$/);
  await page.waitForSelector('article.talk-page h1');
  assert.equal(await page.locator('article.talk-page h1').textContent(), 'Rust en production : trois ans après la réécriture');
  const facts = await page.locator('.talk-facts').textContent();
  assert.match(facts, /jeudi 10 juin, de 10:00 à 10:45/);
  assert.match(facts, /Salle Lumière/);
  assert.match(facts, /Inès Lambert/);
  await shot(page, 'talk-fr');
  assert.deepEqual(page.errors, []);
});

test('an unknown talk shows the 404 page', async () => {
  const page = await newPage(browser);
  const res = await page.goto('/talks/00000000-0000-4000-8000-000000000000');
  assert.equal(res.status(), 404);
  assert.match(await page.locator('h1').textContent(), /Page introuvable/);
});

test('switching to English relabels the page in place and is remembered', async () => {
  const page = await newPage(browser);
  await openHydrated(page, '/?theme=Tech');
  await page.evaluate(() => { window.__noReload = true; });
  await page.locator('.lang-switcher a[hreflang="en"]').click();
  await page.waitForSelector('html[lang="en"]');
  await page.waitForFunction(() => document.body.textContent.includes('All themes'));
  assert.equal(await page.evaluate(() => window.__noReload), true);
  assert.match(await page.locator('.day-title').first().textContent(), /Thursday 10 June/);
  await shot(page, 'programme-en');

  // The choice is kept in a cookie: a fresh load is in English.
  await page.reload();
  await page.waitForSelector('body[data-hydrated="true"]');
  assert.match(await page.locator('nav.filters').textContent(), /All days/);
  assert.deepEqual(page.errors, []);
});

test('the programme reads well on a phone', async () => {
  const page = await newPage(browser, { phone: true });
  await openHydrated(page, '/');
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `no horizontal scroll on a phone (page is ${width}px wide)`);
  await shot(page, 'programme-phone');
});
