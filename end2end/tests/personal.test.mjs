// The personal programme on a phone: the demo attendee (Pass Jour 1) adds three talks, two of them
// overlapping, sees a day-2 talk locked with its reason, reloads, downloads the calendar; and a
// change the server refuses is rolled back with a message.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, openHydrated, shot, login, DEMO_PASSWORD } from '../helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const card = (page, title) => page.locator('.talk-card', { hasText: title });

test('build a programme on a phone: conflicts, locked talks, reload, calendar', async () => {
  const page = await newPage(browser, { phone: true });
  await login(page, 'attendee@tessera.localhost', DEMO_PASSWORD);
  await openHydrated(page, '/');
  for (const title of ['Ouverture : quelle ville', 'Rust en production', 'Atelier : accessibilité web']) {
    const button = card(page, title).locator('.save-button');
    await button.click();
    await page.waitForFunction((t) => [...document.querySelectorAll('.talk-card')].find((c) => c.textContent.includes(t))?.querySelector('.save-button.saved'), title);
  }
  // A day-2 talk is locked, and says why.
  const locked = card(page, 'Leptos et le rendu').locator('.save-locked');
  assert.match(await locked.textContent(), /Votre pass couvre : jeudi 10 juin/);
  await shot(page, 'programme-phone-saved');

  // The state survives a reload.
  await page.reload();
  await page.waitForSelector('body[data-hydrated="true"]');
  await card(page, 'Rust en production').locator('.save-button.saved').waitFor();
  assert.equal(await page.locator('.save-button.saved').count(), 3);

  // My programme: the overlap is named on both talks.
  await openHydrated(page, '/me/programme');
  await page.locator('.my-talk').first().waitFor();
  assert.equal(await page.locator('.my-talk').count(), 3);
  assert.equal(await page.locator('.my-talk.conflict').count(), 2);
  assert.match(await page.locator('.my-talk.conflict .conflict-note').first().textContent(), /Chevauche : /);
  await shot(page, 'my-programme-phone');
  // Its filter bar keeps the reader on this page.
  await page.locator('[data-filter="theme"] a.chip', { hasText: 'Tech' }).click();
  await page.waitForURL(/\/me\/programme\?theme=Tech$/);
  await page.waitForFunction(() => document.querySelectorAll('.my-talk').length === 2);
  await page.locator('[data-filter="theme"] a.chip').first().click();
  await page.waitForFunction(() => document.querySelectorAll('.my-talk').length === 3);

  // The calendar file downloads.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('a[href="/me/programme.ics"]')]);
  assert.equal(download.suggestedFilename(), 'my-programme.ics');
  const path = await download.path();
  const ics = (await import('node:fs')).readFileSync(path, 'utf8');
  assert.equal((ics.match(/BEGIN:VEVENT/g) || []).length, 3);
  assert.deepEqual(page.errors.filter((e) => !/40[13]|422/.test(e)), []);
});

test('a change the server refuses is rolled back with a message', async () => {
  const page = await newPage(browser, { phone: true });
  await login(page, 'attendee@tessera.localhost', DEMO_PASSWORD);
  await openHydrated(page, '/');
  const target = card(page, 'WebAssembly côté client');
  await target.locator('.save-button').waitFor();
  // Meanwhile the session ends (logged out from another tab): the server will refuse.
  const other = await page.context().newPage();
  await openHydrated(other, '/');
  await other.click('.account-nav button');
  await other.waitForSelector('.account-nav a[href="/login"]');
  await target.locator('.save-button').click();
  await target.locator('.save-refused').waitFor();
  assert.match(await target.locator('.save-refused').textContent(), /Connectez-vous/);
  assert.equal(await target.locator('.save-button.saved').count(), 0, 'the optimistic star was rolled back');
  await shot(page, 'programme-rollback');
});
